"""`townhall` — run, migrate, seed and supervise the services.

  townhall up [--no-seed]     migrate, start every process, seed, print the first curl
  townhall run SERVICE        one service in the foreground (migrates first)
  townhall migrate [SERVICE…] bring databases to the newest revision
  townhall seed               create the demo organization (services must be running)
  townhall declare            declare every event queue (done by every start, too)
  townhall dlq list|replay QUEUE   parked events
  townhall makemigration SERVICE -m MESSAGE
"""

import eventlet

eventlet.monkey_patch()  # before anything imports socket, threading or time

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from servicekit import config as configuration  # noqa: E402
from servicekit import secrets  # noqa: E402

SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="townhall", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML file (default: config/townhall.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run everything in the foreground")
    up.add_argument("--no-seed", action="store_true")
    run = commands.add_parser("run", help="run one service")
    run.add_argument("service", choices=SERVICES + ("gateway",))
    migrate = commands.add_parser("migrate", help="apply migrations")
    migrate.add_argument("services", nargs="*", choices=SERVICES, metavar="SERVICE")
    commands.add_parser("seed", help="create the demo organization")
    commands.add_parser("declare", help="declare every event queue")
    dlq = commands.add_parser("dlq", help="parked events")
    dlq.add_argument("action", choices=("list", "replay"))
    dlq.add_argument("queue", nargs="?")
    revision = commands.add_parser("makemigration", help="autogenerate a migration")
    revision.add_argument("service", choices=SERVICES)
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    config = configuration.load(args.config)
    try:
        return command(args, config)
    except secrets.ConfigurationError as exc:
        print(f"townhall {args.command}: {exc}", file=sys.stderr)
        return 2


def command(args, config):
    if args.command == "run":
        from servicekit.postgres import make_green
        from servicekit.runner import run as run_service
        if args.service == "gateway":
            secrets.refuse_development_beyond_loopback(config)
        secrets.resolve(config)
        make_green()
        run_service(args.service, config)
    elif args.command == "migrate":
        from servicekit import migrate as migrations
        for service in args.services or SERVICES:
            url = migrations.upgrade(service, config)
            print(f"{service}: migrated ({url.split('@')[-1]})")
    elif args.command == "makemigration":
        from servicekit import migrate as migrations
        migrations.make_revision(args.service, config, args.message)
    elif args.command == "declare":
        from servicekit import topology
        for _source, _type, queue in topology.declare_all(config):
            print(queue)
    elif args.command == "seed":
        from servicekit import seed
        seed.main(config)
    elif args.command == "dlq":
        from servicekit import deadletters
        return deadletters.main(config, args.action, args.queue)
    elif args.command == "up":
        # checked here too, so a refusal comes before the supervisor replaces this process
        secrets.refuse_development_beyond_loopback(config)
        if args.config:
            os.environ["TOWNHALL_CONFIG"] = args.config
        argv = [sys.executable, "-m", "servicekit.supervisor"] + (
            ["--no-seed"] if args.no_seed else [])
        os.execv(sys.executable, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
