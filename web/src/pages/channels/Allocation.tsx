// A connection's allocation rule (GET/PUT /channels/{id}/allocation): how much of the available
// stock this channel is offered. Without a rule (a 404) it is offered all of it. Changing it needs
// inventory:write, the route's permission: the rule lives in the inventory service.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ApiError, fieldErrors, request } from "../../api/client";
import { Can } from "../../api/permissions";
import type { components } from "../../api/schema";
import { Failed, Loading } from "../../components/ui";
import { Disclosure } from "./Disclosure";
import { TextField, formError } from "../../components/fields";

type Connection = components["schemas"]["ConnectionOut"];
type Rule = components["schemas"]["AllocationOut"];

/** A whole number >= 0 (and <= max), or null for an empty box when `optional`; undefined: invalid. */
function wholeNumber(text: string, optional: boolean, max = Number.MAX_SAFE_INTEGER): number | null | undefined {
  const value = text.trim();
  if (!value) return optional ? null : undefined;
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

function useRule(connectionId: string) {
  return useQuery({
    queryKey: ["channels", connectionId, "allocation"],
    // No rule yet is an answer, not a failure: null.
    queryFn: async (): Promise<Rule | null> => {
      try {
        return await request("Loading the allocation rule failed", () =>
          api.GET("/api/v1/channels/{connection_id}/allocation", { params: { path: { connection_id: connectionId } } }),
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
  });
}

function RuleFacts({ rule }: { rule: Rule | null }) {
  if (!rule) return <p className="muted">No rule: this channel is offered all of the available stock.</p>;
  return (
    <dl className="facts" data-testid="allocation">
      <dt>Buffer</dt>
      <dd>{rule.buffer} units held back</dd>
      <dt>Most listed</dt>
      <dd>{rule.max_quantity ?? "no cap"}</dd>
      <dt>Share offered</dt>
      <dd>{rule.percentage ?? 100}%</dd>
      <dt>Dynamic buffer</dt>
      <dd>
        {rule.dynamic_buffer ? "on" : "off"}
        {rule.dynamic_buffer && rule.measured_sync_latency_ms > 0 && ` (sync latency ${rule.measured_sync_latency_ms} ms)`}
      </dd>
    </dl>
  );
}

function RuleForm({
  connection,
  rule,
  onDone,
  onCancel,
}: {
  connection: Connection;
  rule: Rule | null;
  onDone: (saved: string) => void;
  onCancel: () => void;
}) {
  const queryClient = useQueryClient();
  const [buffer, setBuffer] = useState(String(rule?.buffer ?? 0));
  const [maxQuantity, setMaxQuantity] = useState(rule?.max_quantity == null ? "" : String(rule.max_quantity));
  const [percentage, setPercentage] = useState(rule?.percentage == null ? "" : String(rule.percentage));
  const [dynamic, setDynamic] = useState(rule?.dynamic_buffer ?? false);
  const parsed = {
    buffer: wholeNumber(buffer, false),
    max_quantity: wholeNumber(maxQuantity, true),
    percentage: wholeNumber(percentage, true, 100),
  };
  const save = useMutation({
    mutationFn: (body: components["schemas"]["AllocationIn"]) =>
      request("Saving the allocation rule failed", () =>
        api.PUT("/api/v1/channels/{connection_id}/allocation", { params: { path: { connection_id: connection.id } }, body }),
      ),
    onSuccess: (saved) => {
      queryClient.setQueryData(["channels", connection.id, "allocation"], saved);
      onDone(`Saved the allocation rule of ${connection.name}.`);
    },
  });
  const server = fieldErrors(save.error);
  const local = {
    buffer: parsed.buffer === undefined ? "Enter a whole number of 0 or more." : undefined,
    max_quantity: parsed.max_quantity === undefined ? "Enter a whole number of 0 or more, or leave it empty." : undefined,
    percentage: parsed.percentage === undefined ? "Enter a whole number from 0 to 100, or leave it empty." : undefined,
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (parsed.buffer === undefined || parsed.max_quantity === undefined || parsed.percentage === undefined) return;
    save.mutate({
      buffer: parsed.buffer ?? 0,
      max_quantity: parsed.max_quantity,
      percentage: parsed.percentage,
      dynamic_buffer: dynamic,
      channel: rule?.channel || connection.type,
    });
  };
  const message = formError(save.error, "buffer", "max_quantity", "percentage");
  const invalid = Object.values(local).some(Boolean);
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={`Allocation rule of ${connection.name}`}>
      <TextField
        label="Buffer (units held back)"
        inputMode="numeric"
        value={buffer}
        onChange={setBuffer}
        error={local.buffer ?? server.buffer}
        required
      />
      <TextField
        label="Most units listed (empty: no cap)"
        inputMode="numeric"
        value={maxQuantity}
        onChange={setMaxQuantity}
        error={local.max_quantity ?? server.max_quantity}
      />
      <TextField
        label="Share offered, % (empty: all)"
        inputMode="numeric"
        value={percentage}
        onChange={setPercentage}
        error={local.percentage ?? server.percentage}
      />
      <label className="inline">
        <input type="checkbox" checked={dynamic} onChange={(e) => setDynamic(e.target.checked)} /> Dynamic buffer (grows with
        the measured sync latency)
      </label>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={save.isPending || invalid}>
          {save.isPending ? "Saving…" : "Save rule"}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Loaded when opened: a connection without a rule answers 404, which a browser logs. */
export function Allocation({ connection }: { connection: Connection }) {
  return (
    <Disclosure id={`allocation-${connection.id}`} title="Allocation" what="allocation rule">
      {() => <RuleSection connection={connection} />}
    </Disclosure>
  );
}

function RuleSection({ connection }: { connection: Connection }) {
  const { data, error, isPending, refetch } = useRule(connection.id);
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <>
      {isPending ? (
        <Loading what="the allocation rule" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : (
        <>
          <RuleFacts rule={data} />
          {saved && (
            <p role="status" className="ok-text">
              {saved}
            </p>
          )}
          <Can permission="inventory:write">
            {editing ? (
              <RuleForm
                connection={connection}
                rule={data}
                onDone={(message) => {
                  setSaved(message);
                  setEditing(false);
                }}
                onCancel={() => setEditing(false)}
              />
            ) : (
              <p>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    setSaved(null);
                    setEditing(true);
                  }}
                >
                  Edit allocation rule
                </button>
              </p>
            )}
          </Can>
        </>
      )}
    </>
  );
}
