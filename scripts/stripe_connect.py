"""A stand-in for Stripe Connect, served beside localstripe (which has no Connect objects)
by scripts/localstripe_server.py on the same port and with the same secret-key auth.

It speaks Stripe's JSON for what LaneRunner uses (https://docs.stripe.com/connect):

- POST /v1/accounts, GET /v1/accounts/{id}: Express accounts, restricted until onboarded;
- POST /v1/account_links: a single-use onboarding link, expiring after five minutes;
- GET/POST /connect/onboard/{token} (no API key, a browser opens it): the "hosted onboarding" the link opens. The form takes
  a routing and an account number (Stripe's test numbers: 000123456789 pays out,
  000111111116 fails); submitting it enables the account, sends `account.updated`, and
  redirects to the link's return_url (an expired or used link goes to its refresh_url);
- POST /v1/transfers: from the platform's balance to a connected account, with its line
  in the balance history; refused, as Stripe does, when the destination cannot receive
  transfers or the balance is short;
- POST /v1/payouts with `Stripe-Account`: from a connected account's balance to its bank;
  `payout.paid` (or `payout.failed` for the failing test account) follows a second later,
  as a Connect event naming the account;
- Idempotency-Key on every POST: the same key replays the first answer, the same key with
  other parameters is an `idempotency_error`, as at Stripe.

Test knobs: POST /_config/connect/balance {"available": cents} sets the platform's
available balance (Stripe's test mode tops it up with test cards; here it starts at
$10,000,000); POST /_config/connect/accounts/{id} restricts an account or lifts it.
"""

import asyncio
import hashlib
import html
import json
import secrets
import time

from aiohttp import web

from localstripe.resources import BalanceTransaction, Event, StripeObject
from localstripe.server import app, get_post_data, json_response
from localstripe.webhooks import schedule_webhook

PAYS_OUT = "000123456789"
FAILS_PAYOUTS = "000111111116"
LINK_TTL_SECS = 300

state = {
    "available": 1_000_000_000,
    "accounts": {},  # id -> account object
    "links": {},  # token -> {account, refresh_url, return_url, expires_at, used}
    "balances": {},  # account id -> available cents
    "transfers": {},
    "payouts": {},
    "idempotency": {},  # (account, key) -> (params hash, status, body)
}


def _id(prefix):
    return prefix + secrets.token_hex(8)


def _error(status, message, code=None, param=None, kind="invalid_request_error"):
    body = {"type": kind, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return json_response({"error": body}, status=status)


class _Exported:
    """What localstripe's Event wraps: an object with `_export()`."""

    def __init__(self, obj):
        self.obj = obj

    def _export(self, expand=None):
        return json.loads(json.dumps(self.obj))


def _balance_transaction(amount, currency):
    """A transfer's line in the platform's balance history (GET /v1/balance/history), kept
    in localstripe's own store; its constructor takes charges and refunds only."""
    txn = BalanceTransaction.__new__(BalanceTransaction)
    StripeObject.__init__(txn)
    txn.amount = amount
    txn.available_on = txn.created
    txn.currency = currency
    txn.description = None
    txn.exchange_rate = None
    txn.fee = 0
    txn.fee_details = []
    txn.reporting_category = "transfer"
    txn.source = None
    txn.status = "available"
    txn.type = "transfer"
    return txn


def _send(kind, obj, account=None):
    event = Event(kind, _Exported(obj))
    if account:
        event.account = account  # a Connect event: which connected account it concerns
    schedule_webhook(event)


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


async def _form(request):
    data = await get_post_data(request)
    return dict(data or {})


def _replay(request, account, data):
    """The answer to replay for this Idempotency-Key, or a refusal, or None (a new key)."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None, None
    digest = hashlib.sha256(
        (request.path + json.dumps(data, sort_keys=True)).encode()
    ).hexdigest()
    seen = state["idempotency"].get((account, key))
    if seen is None:
        return None, (account, key, digest)
    if seen[0] != digest:
        return (
            _error(
                400,
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with.",
                kind="idempotency_error",
            ),
            None,
        )
    return json_response(seen[2], status=seen[1]), None


def _remember(slot, status, body):
    if slot:
        account, key, digest = slot
        state["idempotency"][(account, key)] = (digest, status, body)


def _answer(slot, body, status=200):
    _remember(slot, status, body)
    return json_response(body, status=status)


def _refuse(slot, status, message, code=None, param=None):
    body = {"type": "invalid_request_error", "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    _remember(slot, status, {"error": body})
    return json_response({"error": body}, status=status)


async def create_account(request):
    data = await _form(request)
    replay, slot = _replay(request, None, data)
    if replay is not None:
        return replay
    kind = data.get("type", "express")
    if kind not in ("express", "custom", "standard"):
        return _refuse(slot, 400, f"Invalid type: {kind}", param="type")
    country = data.get("country", "US")
    if country not in ("US", "CA"):
        return _refuse(slot, 400, f"Country '{country}' is unknown.", param="country")
    requested = (data.get("capabilities") or {}).get("transfers", {}).get("requested")
    schedule = ((data.get("settings") or {}).get("payouts") or {}).get("schedule") or {}
    account = {
        "id": _id("acct_"),
        "object": "account",
        "type": kind,
        "country": country,
        "email": data.get("email"),
        "default_currency": "usd" if country == "US" else "cad",
        "business_type": data.get("business_type"),
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "capabilities": {"transfers": "inactive"} if requested == "true" else {},
        "requirements": {
            "currently_due": ["external_account", "tos_acceptance.date"],
            "disabled_reason": "requirements.past_due",
        },
        "external_accounts": {"object": "list", "data": [], "has_more": False},
        "settings": {"payouts": {"schedule": {"interval": schedule.get("interval", "daily")}}},
        "metadata": data.get("metadata") or {},
        "created": int(time.time()),
    }
    state["accounts"][account["id"]] = account
    state["balances"][account["id"]] = 0
    return _answer(slot, account)


def retrieve_account(request):
    account = state["accounts"].get(request.match_info["id"])
    if account is None:
        return _error(404, f"No such account: '{request.match_info['id']}'", "resource_missing", "id")
    return json_response(account)


async def create_account_link(request):
    data = await _form(request)
    account = data.get("account")
    if account not in state["accounts"]:
        return _error(400, f"No such account: '{account}'", "resource_missing", "account")
    for url in ("refresh_url", "return_url"):
        if not str(data.get(url, "")).startswith(("http://", "https://")):
            return _error(400, f"Not a valid URL: {url}", "url_invalid", url)
    if data.get("type") not in ("account_onboarding", "account_update"):
        return _error(400, "Invalid type", param="type")
    token = secrets.token_urlsafe(16)
    now = int(time.time())
    state["links"][token] = {
        "account": account,
        "refresh_url": data["refresh_url"],
        "return_url": data["return_url"],
        "expires_at": now + LINK_TTL_SECS,
        "used": False,
    }
    base = f"{request.scheme}://{request.host}"
    return json_response(
        {
            "object": "account_link",
            "created": now,
            "expires_at": now + LINK_TTL_SECS,
            "url": f"{base}/connect/onboard/{token}",
        }
    )


def _live_link(token):
    link = state["links"].get(token)
    if link is None:
        return None, web.Response(status=404, text="This link is not valid.")
    if link["used"] or link["expires_at"] < time.time():
        raise web.HTTPFound(link["refresh_url"])
    return link, None


def onboarding_page(token):
    link, missing = _live_link(token)
    if missing is not None:
        return missing
    account = state["accounts"][link["account"]]
    page = f"""<!doctype html><html><head><title>Stripe Express onboarding (stand-in)</title></head>
<body><h1>Get paid with Stripe</h1><p>Account {html.escape(account['id'])}</p>
<form method="post"><label>Routing number <input name="routing_number" value="110000000"></label>
<label>Account number <input name="account_number" value="{PAYS_OUT}"></label>
<label><input type="checkbox" name="tos" value="accepted" checked> I accept the services agreement</label>
<button type="submit">Submit</button></form></body></html>"""
    return web.Response(text=page, content_type="text/html")


async def submit_onboarding(request, token):
    link, missing = _live_link(token)
    if missing is not None:
        return missing
    form = await request.post()
    number = str(form.get("account_number", "")).strip()
    if not (number.isdigit() and 4 <= len(number) <= 17) or form.get("tos") != "accepted":
        raise web.HTTPSeeOther(request.path)
    link["used"] = True
    account = state["accounts"][link["account"]]
    account.update(
        details_submitted=True,
        charges_enabled=True,
        payouts_enabled=True,
        capabilities={"transfers": "active"},
        requirements={"currently_due": [], "disabled_reason": None},
    )
    account["external_accounts"]["data"] = [
        {
            "id": _id("ba_"),
            "object": "bank_account",
            "last4": number[-4:],
            "routing_number": str(form.get("routing_number", "")),
            "currency": account["default_currency"],
            "status": "new",
        }
    ]
    _send("account.updated", account, account["id"])
    raise web.HTTPSeeOther(link["return_url"])


async def create_transfer(request):
    data = await _form(request)
    replay, slot = _replay(request, None, data)
    if replay is not None:
        return replay
    amount, currency, destination = _int(data.get("amount")), data.get("currency"), data.get("destination")
    if amount is None or amount <= 0:
        return _refuse(slot, 400, "Invalid positive integer", param="amount")
    if currency not in ("usd", "cad"):
        return _refuse(slot, 400, f"Invalid currency: {currency}", param="currency")
    account = state["accounts"].get(destination)
    if account is None:
        return _refuse(slot, 400, f"No such destination: '{destination}'", "resource_missing", "destination")
    if account["capabilities"].get("transfers") != "active":
        return _refuse(
            slot,
            400,
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            "insufficient_capabilities_for_transfer",
            "destination",
        )
    if state["available"] < amount:
        return _refuse(
            slot,
            400,
            "You have insufficient available funds in your Stripe account. Try adding funds "
            "directly to your available balance by creating Charges using the "
            "4000000000000077 test card.",
            "balance_insufficient",
        )
    state["available"] -= amount
    state["balances"][destination] += amount
    txn = _balance_transaction(-amount, currency)
    transfer = {
        "id": _id("tr_"),
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "currency": currency,
        "destination": destination,
        "destination_payment": _id("py_"),
        "balance_transaction": txn.id,
        "transfer_group": data.get("transfer_group"),
        "description": data.get("description"),
        "metadata": data.get("metadata") or {},
        "reversed": False,
        "reversals": {"object": "list", "data": [], "has_more": False},
        "created": int(time.time()),
    }
    txn.source = transfer["id"]
    state["transfers"][transfer["id"]] = transfer
    _send("transfer.created", transfer)
    return _answer(slot, transfer)


async def _settle(payout, account):
    await asyncio.sleep(1)
    bank = account["external_accounts"]["data"]
    fails = bool(bank) and bank[0]["last4"] == FAILS_PAYOUTS[-4:]
    if fails:
        # The bank returned it: the money is back on the connected account's balance.
        state["balances"][account["id"]] += payout["amount"]
        payout.update(
            status="failed",
            failure_code="no_account",
            failure_message="The bank account details on file are probably incorrect. "
            "No bank account could be located with those details.",
        )
    else:
        payout["status"] = "paid"
    _send(f"payout.{payout['status']}", payout, account["id"])


async def create_payout(request):
    account = state["accounts"].get(request.headers.get("Stripe-Account"))
    if account is None:
        return _error(403, "The provided key does not have access to account "
                      f"'{request.headers.get('Stripe-Account')}' (or that account does not exist).",
                      "account_invalid")
    data = await _form(request)
    replay, slot = _replay(request, account["id"], data)
    if replay is not None:
        return replay
    amount, currency = _int(data.get("amount")), data.get("currency")
    method = data.get("method", "standard")
    if amount is None or amount <= 0:
        return _refuse(slot, 400, "Invalid positive integer", param="amount")
    if currency != account["default_currency"] or method not in ("standard", "instant"):
        return _refuse(slot, 400, "Invalid currency or method", param="currency")
    if not account["payouts_enabled"]:
        return _refuse(slot, 400, "Payouts are not enabled on this account.", "payouts_not_allowed")
    if state["balances"][account["id"]] < amount:
        return _refuse(slot, 400, "You have insufficient funds in your Stripe account for this "
                       "transfer.", "balance_insufficient")
    state["balances"][account["id"]] -= amount
    now = int(time.time())
    payout = {
        "id": _id("po_"),
        "object": "payout",
        "amount": amount,
        "currency": currency,
        "method": method,
        "automatic": False,
        "arrival_date": now + (0 if method == "instant" else 2 * 86400),
        "destination": account["external_accounts"]["data"][0]["id"],
        "balance_transaction": _id("txn_"),
        "description": data.get("description"),
        "metadata": data.get("metadata") or {},
        "status": "pending",
        "failure_code": None,
        "failure_message": None,
        "created": now,
    }
    state["payouts"][payout["id"]] = payout
    _send("payout.created", payout, account["id"])
    asyncio.ensure_future(_settle(payout, account))
    return _answer(slot, payout)


def retrieve_payout(request, payout_id):
    account = request.headers.get("Stripe-Account")
    payout = state["payouts"].get(payout_id)
    if payout is None or account not in state["accounts"]:
        return _error(404, f"No such payout: '{payout_id}'", "resource_missing", "id")
    return json_response(payout)


async def config_balance(request):
    data = await request.json()
    available = _int(data.get("available"))
    if available is None or available < 0:
        return _error(400, "available must be a non-negative integer of cents")
    state["available"] = available
    return json_response({"available": available})


async def config_account(request):
    """Test knob: Stripe restricting an account (asking for a document) or lifting it.
    `{"transfers": "inactive", "notify": false}` is a restriction whose `account.updated`
    has not arrived (or was lost); `{"transfers": "active"}` lifts it and notifies."""
    account = state["accounts"].get(request.match_info["id"])
    if account is None:
        return _error(404, "No such account", "resource_missing", "id")
    data = await request.json()
    if data.get("transfers") == "inactive":
        account.update(
            payouts_enabled=False,
            capabilities={"transfers": "inactive"},
            requirements={
                "currently_due": ["individual.verification.document"],
                "disabled_reason": "requirements.past_due",
            },
        )
    elif data.get("transfers") == "active":
        account.update(
            payouts_enabled=True,
            capabilities={"transfers": "active"},
            requirements={"currently_due": [], "disabled_reason": None},
        )
    else:
        return _error(400, "transfers must be active or inactive", param="transfers")
    if data.get("notify", True):
        _send("account.updated", account, account["id"])
    return json_response(account)


ROUTES = [
    ("POST", r"/v1/accounts", create_account),
    ("GET", r"/v1/accounts/{id}", retrieve_account),
    ("POST", r"/v1/account_links", create_account_link),
    ("POST", r"/v1/transfers", create_transfer),
    ("POST", r"/_config/connect/balance", config_balance),
    ("POST", r"/_config/connect/accounts/{id}", config_account),
]


@web.middleware
async def onboarding_pages(request, handler):
    """The hosted onboarding is a page the carrier's browser opens: no API key."""
    if request.path.startswith("/connect/onboard/"):
        token = request.path.rsplit("/", 1)[1]
        if request.method == "GET":
            return onboarding_page(token)
        if request.method == "POST":
            return await submit_onboarding(request, token)
    return await handler(request)


@web.middleware
async def connected_accounts(request, handler):
    """Payouts on a connected account share localstripe's /v1/payouts path: a request
    naming an account (the Stripe-Account header) is the stand-in's."""
    if request.headers.get("Stripe-Account"):
        if request.method == "POST" and request.path == "/v1/payouts":
            return await create_payout(request)
        if request.method == "GET" and request.path.startswith("/v1/payouts/"):
            return retrieve_payout(request, request.path.rsplit("/", 1)[1])
    return await handler(request)


def install():
    """Adds the stand-in to localstripe's app, before it starts: the onboarding pages ahead
    of the API-key check, the API behind it."""
    for method, path, func in ROUTES:
        app.router.add_route(method, path, func)
    app.middlewares.insert(0, onboarding_pages)
    app.middlewares.append(connected_accounts)
