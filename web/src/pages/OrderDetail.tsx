// One order: status, flags, customer, totals, lines (with shipped / returned / reserved units)
// and the status history; fulfil and cancel (OrderActions) for roles that may write orders.
import { useQuery } from "@tanstack/react-query";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, Section, when } from "../components/ui";
import { Link } from "../router";
import { inventoryPath } from "./Inventory";
import { Fulfilments, OrderActions } from "./OrderActions";
import { FLAG_LABEL, STATUS_TONE, money, statusLabel } from "./Orders";

type Order = components["schemas"]["OrderDetailOut"];

function Summary({ order }: { order: Order }) {
  const address = order.shipping_address;
  return (
    <Section id="order-summary-title" title="Summary">
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span className={`badge ${STATUS_TONE[order.status]}`}>{statusLabel(order.status)}</span>
        </dd>
        <dt>Flags</dt>
        <dd>
          {order.flags.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <span className="flags">
              {order.flags.map((flag) => (
                <span key={flag} className="badge bad">
                  {FLAG_LABEL[flag]}
                </span>
              ))}
            </span>
          )}
        </dd>
        <dt>Channel</dt>
        <dd>{order.source}</dd>
        <dt>Created</dt>
        <dd>{when(order.created_at)}</dd>
        <dt>Customer</dt>
        <dd>{[order.customer_name, order.customer_email].filter(Boolean).join(" · ") || "—"}</dd>
        {address && (
          <>
            <dt>Ship to</dt>
            <dd>
              {[address.name, address.company, address.line1, address.line2, address.postal_code, address.city, address.region, address.country_code]
                .filter(Boolean)
                .join(", ")}
            </dd>
          </>
        )}
        <dt>Subtotal</dt>
        <dd>{money(order.totals.subtotal)}</dd>
        {order.totals.discount && (
          <>
            <dt>Discount</dt>
            <dd>{money(order.totals.discount)}</dd>
          </>
        )}
        <dt>Shipping</dt>
        <dd>{money(order.totals.shipping)}</dd>
        <dt>Tax</dt>
        <dd>{money(order.totals.tax)}</dd>
        <dt>Total</dt>
        <dd>
          <strong>{money(order.total)}</strong>
        </dd>
        {order.duplicate_of.length > 0 && (
          <>
            <dt>Duplicate of</dt>
            <dd>
              {order.duplicate_of.map((id) => (
                <Link key={id} href={`/orders/${encodeURIComponent(id)}`}>
                  {id}
                </Link>
              ))}
            </dd>
          </>
        )}
      </dl>
    </Section>
  );
}

function Lines({ order }: { order: Order }) {
  return (
    <Section id="order-lines-title" title="Lines">
      {order.lines.length === 0 ? (
        <p className="empty">This order has no lines.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Order lines</caption>
            <thead>
              <tr>
                <th scope="col">SKU</th>
                <th scope="col">Title</th>
                <th scope="col" className="num">
                  Qty
                </th>
                <th scope="col" className="num">
                  Unit price
                </th>
                <th scope="col" className="num">
                  Shipped
                </th>
                <th scope="col" className="num">
                  Returned
                </th>
                <th scope="col" className="num">
                  Reserved
                </th>
              </tr>
            </thead>
            <tbody>
              {order.lines.map((line) => (
                <tr key={line.id}>
                  <th scope="row">
                    {line.sku_known ? (
                      <Link href={inventoryPath(line.sku)}>{line.sku}</Link>
                    ) : (
                      <>
                        {line.sku} <span className="badge bad">Unknown SKU</span>
                      </>
                    )}
                  </th>
                  <td>{line.title || "—"}</td>
                  <td className="num">{line.quantity}</td>
                  <td className="num">{money(line.unit_price)}</td>
                  <td className="num">{line.quantity_shipped}</td>
                  <td className="num">{line.quantity_returned}</td>
                  <td className="num">{line.quantity_reserved}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function History({ order }: { order: Order }) {
  return (
    <Section id="order-history-title" title="Status history">
      {order.history.length === 0 ? (
        <p className="empty">No status change recorded.</p>
      ) : (
        <ol className="plain">
          {order.history.map((change, i) => (
            <li key={i}>
              {when(change.at)}: {change.from_status ? `${statusLabel(change.from_status)} → ` : ""}
              {statusLabel(change.to_status)} <span className="muted">by {change.actor}</span>
              {change.reason && <span className="muted"> ({change.reason})</span>}
            </li>
          ))}
        </ol>
      )}
    </Section>
  );
}

export function OrderDetailPage({ id }: { id: string }) {
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ["orders", "detail", id],
    queryFn: () =>
      request("Loading the order failed", () =>
        api.GET("/api/v1/orders/{order_id}", { params: { path: { order_id: id } } }),
      ),
  });
  return (
    <>
      <p className="crumbs">
        <Link href="/orders">← Orders</Link>
      </p>
      <h1>Order {data ? <code>{data.external_name || data.external_id || data.id}</code> : null}</h1>
      {isPending ? (
        <Loading what="the order" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : (
        <div className="columns">
          <div>
            <Lines order={data} />
            <Fulfilments order={data} />
            <History order={data} />
          </div>
          <div>
            <Summary order={data} />
            <OrderActions order={data} />
          </div>
        </div>
      )}
    </>
  );
}
