"""localstripe (PyPI) with one fix, and the project's Stripe Connect stand-in beside it
(scripts/stripe_connect.py: accounts, account links, transfers, connected payouts).

The fixes: localstripe's `GET /v1/balance/history` route calls the list method without
the URL it needs and answers 500 (the reconciliation reads that list, so the route is given
its URL before the server registers its routes); and its charges carry no fee, so each
charge's balance transaction is given Stripe's standard one. Run by scripts/localstripe.sh; arguments
are localstripe's own (--port, --from-scratch)."""

import localstripe.resources as resources

_list_all = resources.BalanceTransaction._api_list_all


def _balance_history(url="/v1/balance/history", **kwargs):
    return _list_all(url, **kwargs)


# Stripe's standard US card pricing, 2.9 % + 30 cents, on each charge's balance
# transaction (localstripe records none), so the reconciliation has real fees to enter.
_balance_init = resources.BalanceTransaction.__init__


def _with_fee(self, *args, **kwargs):
    _balance_init(self, *args, **kwargs)
    if self.type == "charge" and self.amount > 0:
        self.fee = round(self.amount * 0.029) + 30
        self.fee_details = [{"amount": self.fee, "currency": self.currency,
                             "type": "stripe_fee", "description": "Stripe processing fees"}]


resources.BalanceTransaction.__init__ = _with_fee

resources.extra_apis[:] = [
    (method, url, _balance_history if url == "/v1/balance/history" else func)
    for (method, url, func) in resources.extra_apis
]

from localstripe import server  # noqa: E402  (after the fix, which it reads on import)

import stripe_connect  # noqa: E402  (beside this file: the Connect stand-in)

stripe_connect.install()
server.start()
