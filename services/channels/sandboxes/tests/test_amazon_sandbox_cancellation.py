"""The Amazon sandbox's order acknowledgement feed: a Failure cancels an unshipped order (and
restocks unless NoInventory), refusals are Results in the XML processing report, an envelope that
is not one is FATAL; getOrder reads one order."""

from __future__ import annotations

import gzip
from xml.etree import ElementTree

import httpx

from channel_sandboxes.amazon import AmazonConfig

CFG = AmazonConfig()
MARKET = "ATVPDKIKX0DER"


def token(amazon: httpx.Client) -> dict[str, str]:
    return {"x-amz-access-token": amazon.post("/_sandbox/tokens").json()["access_token"]}


def envelope(*acks: tuple[str, str, str, str], seller: str = CFG.seller_id) -> bytes:
    messages = "".join(
        f"<Message><MessageID>{n}</MessageID><OrderAcknowledgement><AmazonOrderID>{order}</AmazonOrderID>"
        f"<StatusCode>{status}</StatusCode><Item><AmazonOrderItemCode>{item}</AmazonOrderItemCode>"
        f"<CancelReason>{reason}</CancelReason></Item></OrderAcknowledgement></Message>"
        for n, (order, status, item, reason) in enumerate(acks, start=1)
    )
    return (
        f"<AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{seller}"
        f"</MerchantIdentifier></Header><MessageType>OrderAcknowledgement</MessageType>{messages}</AmazonEnvelope>"
    ).encode()


def run(amazon: httpx.Client, content: bytes) -> tuple[str, ElementTree.Element]:
    headers = token(amazon)
    document = amazon.post(
        "/feeds/2021-06-30/documents", headers=headers, json={"contentType": "text/xml; charset=UTF-8"}
    ).json()
    assert httpx.put(document["url"], content=content).status_code == 200
    created = amazon.post(
        "/feeds/2021-06-30/feeds",
        headers=headers,
        json={
            "feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA",
            "marketplaceIds": [MARKET],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    assert created.status_code == 202, created.text
    feed_id = created.json()["feedId"]
    for _ in range(CFG.feed_polls):
        feed = amazon.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers).json()
    result = amazon.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}", headers=headers).json()
    raw = httpx.get(result["url"]).content
    return feed["processingStatus"], ElementTree.fromstring(gzip.decompress(raw))


def test_a_failure_acknowledgement_cancels_and_errors_are_reported(amazon: httpx.Client) -> None:
    amazon.post(
        "/_sandbox/products", json={"items": [{"sku": "MUG", "quantity": 5}, {"sku": "CUP", "quantity": 5}]}
    )
    first = amazon.post("/_sandbox/orders", json={"lines": [{"sku": "MUG", "quantity": 2}]}).json()
    second = amazon.post("/_sandbox/orders", json={"lines": [{"sku": "CUP", "quantity": 1}]}).json()
    got = amazon.get(f"/orders/v0/orders/{first['id']}", headers=token(amazon)).json()["payload"]
    assert got["OrderStatus"] == "Unshipped" and got["AmazonOrderId"] == first["id"]
    mug_item = first["items"][0]["OrderItemId"]
    cup_item = second["items"][0]["OrderItemId"]
    status, report = run(
        amazon,
        envelope(
            (first["id"], "Failure", mug_item, "BuyerCanceled"),
            (second["id"], "Failure", cup_item, "NoInventory"),
            ("999-9999999-9999999", "Failure", "1", "BuyerCanceled"),
        ),
    )
    assert status == "DONE"
    assert report.findtext("Message/ProcessingReport/ProcessingSummary/MessagesWithError") == "1"
    result = report.find("Message/ProcessingReport/Result")
    assert result is not None and result.findtext("MessageID") == "3"
    assert result.findtext("ResultMessageCode") == "18028"
    assert amazon.get(f"/_sandbox/orders/{first['id']}").json()["status"] == "Canceled"
    assert amazon.get("/_sandbox/inventory").json() == {"MUG": 5, "CUP": 4}
    cancellations = amazon.get("/_sandbox/cancellations").json()["cancellations"]
    assert [c["reasons"] for c in cancellations] == [{mug_item: "BuyerCanceled"}, {cup_item: "NoInventory"}]

    status, report = run(amazon, envelope((first["id"], "Failure", mug_item, "BuyerCanceled")))
    assert (
        status == "DONE" and report.findtext("Message/ProcessingReport/Result/ResultMessageCode") == "18234"
    )
    assert amazon.get("/orders/v0/orders/NOPE", headers=token(amazon)).status_code == 404


def test_an_envelope_that_is_not_an_acknowledgement_is_fatal(amazon: httpx.Client) -> None:
    status, report = run(amazon, b"<NotAnEnvelope/>")
    assert status == "FATAL"
    assert "AmazonEnvelope" in (report.findtext("Message/ProcessingReport/Result/ResultDescription") or "")
    status, _ = run(amazon, envelope(seller="SOMEONE-ELSE"))
    assert status == "FATAL"
