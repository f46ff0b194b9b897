"""The public unsubscribe page and the one-click List-Unsubscribe-Post answer."""


class UnsubscribePages:
    """Mixed into GatewayService."""
