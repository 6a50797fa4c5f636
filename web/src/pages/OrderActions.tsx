// Acting on one order: fulfil (carrier + tracking for every unshipped unit; inventory commits the
// units and the fulfilment goes back to the source channel) and cancel (releases the reserved
// stock; refused once anything shipped). Only for users whose role may write orders.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, fieldErrors, idempotencyKey, request, type Outcome } from "../api/client";
import { useCan } from "../api/permissions";
import type { components } from "../api/schema";
import { FormOutcome, Section, TextField, when } from "../components/ui";

type Order = components["schemas"]["OrderDetailOut"];

const FULFILLABLE: Order["status"][] = ["PAID", "PARTIALLY_SHIPPED"];
const CANCELLABLE: Order["status"][] = ["PENDING", "PAID"];
const SYNC_LABEL: Record<string, string> = {
  pending: "waiting to reach the channel",
  synced: "accepted by the channel",
  failed: "refused by the channel",
  not_applicable: "no channel to tell",
};

function useOrderMutation<Body, T>(what: string, send: (body: Body, key: string) => Promise<Outcome<T>>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Body) => {
      // One key per submit: the repeat after a token refresh (request's 401 retry) applies once.
      const key = idempotencyKey();
      return request(what, () => send(body, key));
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["orders"] });
      await queryClient.invalidateQueries({ queryKey: ["inventory"] });
      await queryClient.invalidateQueries({ queryKey: ["analytics"] });
    },
  });
}

function FulfilForm({ order }: { order: Order }) {
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState("");
  const [trackingUrl, setTrackingUrl] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const fulfil = useOrderMutation("Fulfilling the order failed", (body: components["schemas"]["FulfillIn"], key) =>
    api.POST("/api/v1/orders/{order_id}/fulfill", {
      params: { path: { order_id: order.id }, header: { "Idempotency-Key": key } },
      body,
    }),
  );
  const errors = fieldErrors(fulfil.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    fulfil.mutate(
      { carrier: carrier.trim(), tracking_number: tracking.trim(), tracking_url: trackingUrl.trim() || null },
      { onSuccess: () => setSaved(`Fulfilled with ${carrier.trim()} ${tracking.trim()}.`) },
    );
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-labelledby="fulfil-title">
      <h3 id="fulfil-title">Fulfil every unshipped unit</h3>
      <TextField id="fulfil-carrier" label="Carrier" value={carrier} onChange={setCarrier} error={errors.carrier} required maxLength={100} />
      <TextField
        id="fulfil-tracking"
        label="Tracking number"
        value={tracking}
        onChange={setTracking}
        error={errors.tracking_number}
        required
        maxLength={200}
      />
      <TextField
        id="fulfil-url"
        label="Tracking URL (optional)"
        type="url"
        value={trackingUrl}
        onChange={setTrackingUrl}
        error={errors.tracking_url}
        maxLength={2048}
      />
      <div className="actions">
        <button type="submit" disabled={fulfil.isPending || !carrier.trim() || !tracking.trim()}>
          {fulfil.isPending ? "Fulfilling…" : "Fulfil order"}
        </button>
      </div>
      <FormOutcome
        error={fulfil.error}
        fields={errors}
        shownFields={["carrier", "tracking_number", "tracking_url"]}
        saved={saved}
      />
    </form>
  );
}

function CancelForm({ order }: { order: Order }) {
  const [reason, setReason] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const cancel = useOrderMutation("Cancelling the order failed", (body: { reason: string }, key) =>
    api.POST("/api/v1/orders/{order_id}/cancel", {
      params: { path: { order_id: order.id }, header: { "Idempotency-Key": key } },
      body,
    }),
  );
  const errors = fieldErrors(cancel.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setSaved(null);
    cancel.mutate({ reason: reason.trim() }, { onSuccess: () => setSaved("Cancelled; its reserved stock is released.") });
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-labelledby="cancel-title">
      <h3 id="cancel-title">Cancel the order</h3>
      <TextField id="cancel-reason" label="Reason (optional)" value={reason} onChange={setReason} error={errors.reason} maxLength={500} />
      <div className="actions">
        <button type="submit" className={confirming ? "danger" : "secondary"} disabled={cancel.isPending}>
          {cancel.isPending ? "Cancelling…" : confirming ? "Yes, cancel this order" : "Cancel order"}
        </button>
        {confirming && !cancel.isPending && (
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Keep the order
          </button>
        )}
      </div>
      <FormOutcome error={cancel.error} fields={errors} shownFields={["reason"]} saved={saved} />
    </form>
  );
}

export function Fulfilments({ order }: { order: Order }) {
  if (order.fulfillments.length === 0) return null;
  return (
    <Section id="order-fulfilments-title" title="Fulfilments">
      <ul className="plain">
        {order.fulfillments.map((f) => (
          <li key={f.id}>
            {when(f.created_at)}: {f.carrier} <code>{f.tracking_number}</code>,{" "}
            {f.lines.reduce((sum, line) => sum + line.quantity, 0)} units —{" "}
            <span className={f.sync_state === "failed" ? "error-text" : "muted"}>{SYNC_LABEL[f.sync_state] ?? f.sync_state}</span>
            {f.sync_message && <span className="muted"> ({f.sync_message})</span>}
          </li>
        ))}
      </ul>
    </Section>
  );
}

/** The fulfil and cancel forms the order's status allows; nothing for a read-only role. */
export function OrderActions({ order }: { order: Order }) {
  const canWrite = useCan("orders:write");
  const fulfillable = FULFILLABLE.includes(order.status);
  const cancellable = CANCELLABLE.includes(order.status) && !order.lines.some((l) => l.quantity_shipped > 0);
  if (!canWrite || (!fulfillable && !cancellable)) return null;
  return (
    <Section id="order-actions-title" title="Actions">
      {fulfillable && <FulfilForm order={order} />}
      {cancellable && <CancelForm order={order} />}
    </Section>
  );
}
