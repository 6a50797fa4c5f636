// A connection's editable settings (PATCH /channels/{id}, behind channels:manage): the keys its
// type lists as `editable_settings` in GET /channel-types (what publishing or fulfilment needs that
// the channel does not tell: TikTok's category, Amazon's product type, WooCommerce's weight unit…),
// never what names the store. One box per key with its current value; an emptied box removes the
// setting (null), so one PATCH carries only what changed. A 400 names the field
// (`settings.<key>`): shown beside it, the form stays open and nothing was changed.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, fieldErrors, request } from "../../api/client";
import type { components } from "../../api/schema";
import { FormOutcome, TextField } from "../../components/fields";
import { Failed } from "../../components/ui";
import { Disclosure } from "./Disclosure";

type Connection = components["schemas"]["ConnectionOut"];
type ConnectionList = components["schemas"]["ConnectionList"];

interface SettingText {
  label: string;
  hint?: string;
}

// meta_connector/protocol/publish.py: Facebook and Instagram share the connector.
const META: Record<string, SettingText> = {
  product_url_template: {
    label: "Product page address",
    hint: "Each item's link, with {product_id}, {group_id} or {sku} filled in, e.g. https://shop.example/p/{sku}; empty: the store URL.",
  },
};

// What each known key means, in the words of the connector that reads it (the connector modules
// named after each entry); a key not listed here is shown by its name.
const SETTING_TEXT: Record<string, Record<string, SettingText>> = {
  // tiktok_connector/protocol/publish.py, servicer.py (fulfilment, cancellation)
  tiktok: {
    category_id: { label: "TikTok category id", hint: "The leaf category new products are created in." },
    warehouse_id: {
      label: "TikTok warehouse id",
      hint: "The sales warehouse stock goes to and packages ship from; empty: the shop's default.",
    },
    package_weight_kg: {
      label: "Package weight (kg)",
      hint: "For products without a weight of their own, e.g. 0.5.",
    },
    package_dimensions_cm: {
      label: "Package size (cm)",
      hint: "Length x width x height in whole centimetres, e.g. 20x15x10.",
    },
    brand_id: { label: "TikTok brand id", hint: "The brand new products are created with (optional)." },
    shipping_providers: {
      label: "Carriers' TikTok shipping provider ids",
      hint: "Carrier=provider id pairs, comma-separated, e.g. UPS=7117858858072016686; other carriers are looked up by name.",
    },
    cancel_reason: {
      label: "TikTok cancel reason",
      hint: "TikTok's reason code sent when an order is cancelled; empty: seller_cancel.",
    },
  },
  // amazon_connector/protocol/publish.py, protocol/cancellation.py
  amazon: {
    product_type: {
      label: "Amazon product type",
      hint: "Full listings of this product type, e.g. SHIRT; empty: offers on Amazon catalog items by barcode.",
    },
    brand: { label: "Brand", hint: "The brand of full listings whose product names no vendor." },
    language_tag: { label: "Listing language", hint: "The language tag of listing texts, e.g. de_DE; empty: en_US." },
    cancel_reason: {
      label: "Amazon cancel reason",
      hint: "Amazon's CancelReason when the order's own reason names none, e.g. NoInventory; empty: BuyerCanceled.",
    },
  },
  // ebay_connector/protocol/publish.py: what a listing needs that eBay does not tell.
  ebay: {
    category_id: { label: "eBay category id", hint: "The leaf category new listings are created in." },
    fulfillment_policy_id: { label: "Fulfillment policy id", hint: "The business policy for shipping." },
    payment_policy_id: { label: "Payment policy id", hint: "The business policy for payment." },
    return_policy_id: { label: "Return policy id", hint: "The business policy for returns." },
    merchant_location_key: {
      label: "Inventory location key",
      hint: "The merchant location new listings ship from.",
    },
    condition: { label: "Item condition", hint: "eBay's condition of new items, e.g. USED_EXCELLENT; empty: NEW." },
    content_language: {
      label: "Listing language",
      hint: "The Content-Language of listing texts, e.g. de-DE; empty: the marketplace's.",
    },
  },
  facebook: META,
  instagram: META,
  // shopify_connector/servicer.py (CancelOrder)
  shopify: {
    cancel_refund: { label: "Refund when cancelling", hint: '"false": cancelling an order does not refund it.' },
  },
  // woocommerce_connector/servicer.py, client.py
  woocommerce: {
    shipment_tracking: {
      label: "Shipment Tracking extension",
      hint: '"off": fulfilments add no tracking items, even when the store runs the extension.',
    },
    weight_unit: {
      label: "Store weight unit",
      hint: "The unit of the store's product weights (WooCommerce > Settings > Products): kg, g, lbs or oz; empty: kg.",
    },
  },
};

/** The label and hint of `key` on a `type` connection, else the key itself. */
export function settingText(type: string, key: string): SettingText {
  return SETTING_TEXT[type]?.[key] ?? { label: key };
}

/** The type's editable setting names (GET /channel-types, kept five minutes like the wizard's). */
function useEditableSettings(type: string) {
  const types = useQuery({
    queryKey: ["channel-types"],
    queryFn: () => request("Loading the channel types failed", () => api.GET("/api/v1/channel-types")),
    staleTime: 5 * 60_000,
  });
  return { ...types, keys: types.data?.items.find((t) => t.type === type)?.editable_settings ?? [] };
}

/** The PATCH body: changed boxes set (the server trims them), emptied ones that had a value null. */
function changes(keys: string[], before: Record<string, string>, values: Record<string, string>) {
  const out: Record<string, string | null> = {};
  for (const key of keys) {
    const value = values[key] ?? "";
    if (value === "") {
      if (before[key] !== undefined) out[key] = null;
    } else if (value !== before[key]) out[key] = value;
  }
  return out;
}

function SettingsForm({ connection, keys }: { connection: Connection; keys: string[] }) {
  const queryClient = useQueryClient();
  // What the form started from (or last saved): a poll of the channel list does not move it.
  const [before, setBefore] = useState<Record<string, string>>(connection.settings);
  const [values, setValues] = useState(() => Object.fromEntries(keys.map((k) => [k, connection.settings[k] ?? ""])));
  const [saved, setSaved] = useState<string | null>(null);
  const body = changes(keys, before, values);
  const changed = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: () =>
      request(`Saving the settings of ${connection.name} failed`, () =>
        api.PATCH("/api/v1/channels/{connection_id}", {
          params: { path: { connection_id: connection.id } },
          body: { settings: body },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData<ConnectionList>(["channels"], (list) =>
        list && { ...list, items: list.items.map((c) => (c.id === updated.id ? updated : c)) },
      );
      setBefore(updated.settings);
      setValues(Object.fromEntries(keys.map((k) => [k, updated.settings[k] ?? ""])));
      setSaved(`Saved the settings of ${updated.name}.`);
    },
  });
  const server = fieldErrors(save.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    if (changed) save.mutate();
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={`Settings of ${connection.name}`}>
      <p className="muted">An emptied box removes the setting. The next sync, publish or fulfilment uses the new values.</p>
      {keys.map((key) => {
        const text = settingText(connection.type, key);
        return (
          <TextField
            key={key}
            label={text.label}
            hint={text.hint}
            value={values[key] ?? ""}
            onChange={(value) => {
              setSaved(null);
              setValues((current) => ({ ...current, [key]: value }));
            }}
            error={server[`settings.${key}`]}
            maxLength={500}
            autoComplete="off"
          />
        );
      })}
      <FormOutcome error={save.error} shown={keys.map((key) => `settings.${key}`)} saved={saved} />
      <div className="actions">
        <button type="submit" disabled={save.isPending || !changed}>
          {save.isPending ? "Saving…" : "Save settings"}
        </button>
      </div>
    </form>
  );
}

/** Shown only when the connection's type has editable settings (until the types have loaded,
 * nothing; a failed load says so); the caller checks channels:manage. */
export function ConnectionSettings({ connection }: { connection: Connection }) {
  const { keys, error, refetch } = useEditableSettings(connection.type);
  if (error) return <Failed error={error} retry={() => void refetch()} />;
  if (keys.length === 0) return null;
  return (
    <Disclosure id={`settings-${connection.id}`} title="Settings" what="settings">
      {() => <SettingsForm connection={connection} keys={keys} />}
    </Disclosure>
  );
}
