"""localstripe (PyPI) with one fix, and the project's Stripe Connect stand-in beside it
(scripts/stripe_connect.py: accounts, account links, transfers, connected payouts).

The fix: localstripe's `GET /v1/balance/history` route calls the list method without the
URL it needs and answers 500. The reconciliation reads that list, so the route is given
its URL before the server registers its routes. Run by scripts/localstripe.sh; arguments
are localstripe's own (--port, --from-scratch)."""

import localstripe.resources as resources

_list_all = resources.BalanceTransaction._api_list_all


def _balance_history(url="/v1/balance/history", **kwargs):
    return _list_all(url, **kwargs)


resources.extra_apis[:] = [
    (method, url, _balance_history if url == "/v1/balance/history" else func)
    for (method, url, func) in resources.extra_apis
]

from localstripe import server  # noqa: E402  (after the fix, which it reads on import)

import stripe_connect  # noqa: E402  (beside this file: the Connect stand-in)

stripe_connect.install()
server.start()
