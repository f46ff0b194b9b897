"""Compose's (and sh's) variable interpolation: compose-spec does not interpolate, and the
compose file must be read as `docker compose up` would read it."""

import re


class InterpolationError(ValueError):
    pass


class RequiredVariable(InterpolationError):
    def __init__(self, name, message):
        super().__init__(f"required variable {name} is not set: {message or name}")
        self.name = name


def interpolate(text, env=None, strict=False):
    """Compose's (and sh's) ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt},
    $VAR and $$, nested defaults included. Unset variables read as the defaults would; a
    required one (${VAR:?err}, ${VAR?err}) reads as the placeholder "<VAR>", or, `strict`, is a
    RequiredVariable error carrying compose's message, as `docker compose up` refuses."""
    env = env or {}
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_expand(text[i + 2:end], env, strict))
            i = end + 1
        else:
            match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i + 1:])
            if match:
                out.append(env.get(match.group(), ""))
                i += 1 + match.end()
            else:
                out.append("$")
                i += 1
    return "".join(out)


def _closing_brace(text, start):
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise InterpolationError(f"unclosed '${{' in {text!r}")


def _expand(body, env, strict=False):
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", body, re.DOTALL)
    if not match:
        raise InterpolationError(f"invalid interpolation '${{{body}}}'")
    name, operator, word = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    unset = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return interpolate(word, env, strict) if unset else value
    if operator.endswith("+"):
        return "" if unset else interpolate(word, env, strict)
    # ${VAR:?error}: compose refuses to start while VAR is unset; here it reads as a placeholder
    if unset and strict:
        raise RequiredVariable(name, word)
    return f"<{name}>" if unset else value


def interpolate_tree(node, report, path, env=None, strict=False):
    if isinstance(node, str):
        try:
            return interpolate(node, env, strict)
        except InterpolationError as exc:
            report(path, str(exc))
            return node
    if isinstance(node, dict):
        return {k: interpolate_tree(v, report, f"{path}.{k}" if path else str(k), env, strict)
                for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(v, report, f"{path}[{n}]", env, strict)
                for n, v in enumerate(node)]
    return node
