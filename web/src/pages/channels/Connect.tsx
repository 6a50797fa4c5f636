// Connect a channel (/channels/connect): pick a type from GET /channel-types, then
// - an API-key channel (WooCommerce): its store URL and keys, POST /channels; the channel checks the
//   keys first, so wrong ones come back as a 400 in words and nothing is stored;
// - an OAuth channel (Shopify): its shop, GET /channels/{type}/oauth/start asked for JSON (a fetch
//   cannot read a redirect), which also sets the HttpOnly cookie binding the callback to this
//   browser; the browser then goes to the channel's consent page, and the channel's redirect to
//   the gateway's callback comes back to /channels?connected=<id> (or ?connect_error=<slug>).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, fieldErrors, request } from "../../api/client";
import { Can, useCan, useMe } from "../../api/permissions";
import type { components } from "../../api/schema";
import { Failed, Loading, Section } from "../../components/ui";
import { Link, navigate } from "../../router";
import { channelLabel } from "../Analytics";
import { TextField, formError } from "../../components/fields";

type ChannelType = components["schemas"]["ChannelTypeOut"];

// Shopify's anchored shop-domain pattern (the gateway's OAuthStartQuery refuses anything else).
const SHOP_DOMAIN = /^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$/;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** "" or a local reason why an optional sandbox URL cannot be sent. */
function baseUrlError(value: string): string | undefined {
  return value.trim() && !isHttpUrl(value.trim()) ? "Enter a full http:// or https:// address, or leave it empty." : undefined;
}

function ApiKeyForm({ type }: { type: ChannelType }) {
  const queryClient = useQueryClient();
  const [storeUrl, setStoreUrl] = useState("");
  const [key, setKey] = useState("");
  const [secret, setSecret] = useState("");
  const [name, setName] = useState("");
  const [apiBaseUrl, setApiBaseUrl] = useState("");
  const [checked, setChecked] = useState(false);
  const connect = useMutation({
    mutationFn: () =>
      request(`Connecting ${channelLabel(type.type)} failed`, () =>
        api.POST("/api/v1/channels", {
          body: {
            type: type.type,
            name: name.trim(),
            settings: { store_url: storeUrl.trim(), ...(apiBaseUrl.trim() ? { api_base_url: apiBaseUrl.trim() } : {}) },
            credentials: { consumer_key: key.trim(), consumer_secret: secret.trim() },
          },
        }),
      ),
    onSuccess: async (connection) => {
      // The list the Channels page shows (kept for a minute) gains this connection.
      await queryClient.invalidateQueries({ queryKey: ["channels"] });
      navigate(`/channels?connected=${encodeURIComponent(connection.id)}`);
    },
  });
  const server = fieldErrors(connect.error);
  const local = {
    store_url: !storeUrl.trim()
      ? "Enter the store's address."
      : !isHttpUrl(storeUrl.trim())
        ? "Enter a full https:// address."
        : undefined,
    consumer_key: !key.trim() ? "Enter the consumer key." : undefined,
    consumer_secret: !secret.trim() ? "Enter the consumer secret." : undefined,
    api_base_url: baseUrlError(apiBaseUrl),
  };
  const invalid = Object.values(local).some(Boolean);
  const shown = (field: keyof typeof local, serverField: string) => (checked ? local[field] : undefined) ?? server[serverField];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setChecked(true);
    if (!invalid) connect.mutate();
  };
  // The channel's own words (keys refused, no store at that address) matter more than the field.
  const message = connect.error?.message ?? null;
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={`Connect ${channelLabel(type.type)}`}>
      <TextField
        label="Store URL"
        type="url"
        value={storeUrl}
        onChange={setStoreUrl}
        error={shown("store_url", "settings.store_url")}
        placeholder="https://shop.example"
        autoComplete="url"
        required
      />
      <TextField
        label="Consumer key"
        value={key}
        onChange={setKey}
        error={shown("consumer_key", "credentials.consumer_key")}
        autoComplete="off"
        required
      />
      <TextField
        label="Consumer secret"
        type="password"
        value={secret}
        onChange={setSecret}
        error={shown("consumer_secret", "credentials.consumer_secret")}
        autoComplete="off"
        required
      />
      <TextField label="Name (optional)" value={name} onChange={setName} error={server.name} maxLength={200} />
      <TextField
        label="API base URL (optional)"
        hint="Sandboxes and test servers only; the operator must allow its host."
        type="url"
        value={apiBaseUrl}
        onChange={setApiBaseUrl}
        error={shown("api_base_url", "settings.api_base_url")}
      />
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={connect.isPending}>
          {connect.isPending ? "Checking the keys…" : `Connect ${channelLabel(type.type)}`}
        </button>
      </div>
    </form>
  );
}

const STORE_ID = /^[A-Za-z0-9_.:-]+$/;
// What each channel calls the store a connection is to.
const STORE_ID_LABEL: Record<string, string> = {
  facebook: "Catalog id",
  instagram: "Catalog id",
  tiktok: "Shop id",
  amazon: "Seller id",
  ebay: "eBay user id",
};

function OAuthForm({ type }: { type: ChannelType }) {
  const shopify = type.type === "shopify";
  const [shop, setShop] = useState("");
  const [name, setName] = useState("");
  const [apiBaseUrl, setApiBaseUrl] = useState("");
  const [checked, setChecked] = useState(false);
  const [badUrl, setBadUrl] = useState(false);
  const start = useMutation({
    mutationFn: () =>
      request(`Starting to connect ${channelLabel(type.type)} failed`, () =>
        api.GET("/api/v1/channels/{channel_type}/oauth/start", {
          params: {
            path: { channel_type: type.type },
            query: {
              name: name.trim(),
              ...(shopify ? { shop_domain: shop.trim() } : shop.trim() ? { store_id: shop.trim() } : {}),
              ...(apiBaseUrl.trim() ? { api_base_url: apiBaseUrl.trim() } : {}),
            },
          },
          // JSON only: 200 with the consent URL (and the cookie) instead of a redirect.
          headers: { Accept: "application/json" },
        }),
      ),
    onSuccess: (started) => {
      // Only ever a web address: the channel's consent page, opened in this browser (the cookie).
      if (isHttpUrl(started.authorization_url)) window.location.assign(started.authorization_url);
      else setBadUrl(true);
    },
  });
  const server = fieldErrors(start.error);
  // Shopify names the shop up front; the other channels say which stores the account has, and
  // the store id is only needed to choose among several.
  const shopError = shopify
    ? !shop.trim()
      ? "Enter the shop's domain."
      : SHOP_DOMAIN.test(shop.trim())
        ? undefined
        : "Enter the shop's domain, like my-shop.myshopify.com."
    : !shop.trim() || STORE_ID.test(shop.trim())
      ? undefined
      : "Use the id as the channel shows it: letters, digits, and . _ : - only.";
  const local = { shop: shopError, api_base_url: baseUrlError(apiBaseUrl) };
  const invalid = Object.values(local).some(Boolean);
  const shopField = shopify ? "shop_domain" : "store_id";
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setChecked(true);
    setBadUrl(false);
    if (!invalid) start.mutate();
  };
  const message = badUrl
    ? `${channelLabel(type.type)} answered with a consent page that is not a web address; nothing was connected.`
    : formError(start.error, shopField, "name", "api_base_url");
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={`Connect ${channelLabel(type.type)}`}>
      {shopify ? (
        <TextField
          label="Shop domain"
          value={shop}
          onChange={setShop}
          error={(checked ? local.shop : undefined) ?? server[shopField]}
          placeholder="my-shop.myshopify.com"
          autoComplete="off"
          required
        />
      ) : (
        <TextField
          label={`${STORE_ID_LABEL[type.type] ?? "Store id"} (optional)`}
          hint="Only if your account has several: OmniStock connects the only one otherwise, and names them all if it cannot choose."
          value={shop}
          onChange={setShop}
          error={(checked ? local.shop : undefined) ?? server[shopField]}
          autoComplete="off"
          maxLength={255}
        />
      )}
      <TextField label="Name (optional)" value={name} onChange={setName} error={server.name} maxLength={200} />
      <TextField
        label="API base URL (optional)"
        hint="Sandboxes and test servers only; the operator must allow its host."
        type="url"
        value={apiBaseUrl}
        onChange={setApiBaseUrl}
        error={(checked ? local.api_base_url : undefined) ?? server.api_base_url}
      />
      <p className="muted">
        You will approve OmniStock on {channelLabel(type.type)}&apos;s page in this browser, then come back here.
      </p>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={start.isPending}>
          {start.isPending ? "Opening the consent page…" : `Continue to ${channelLabel(type.type)}`}
        </button>
      </div>
    </form>
  );
}

function Wizard() {
  const [chosen, setChosen] = useState<string | null>(null);
  const types = useQuery({
    queryKey: ["channel-types"],
    queryFn: () => request("Loading the channel types failed", () => api.GET("/api/v1/channel-types")),
    staleTime: 5 * 60_000,
  });
  if (types.isPending) return <Loading what="channel types" />;
  if (types.error) return <Failed error={types.error} retry={() => void types.refetch()} />;
  const type = types.data.items.find((t) => t.type === chosen);
  return (
    <>
      <Section id="connect-type-title" title="1. Channel">
        <fieldset className="choices">
          <legend className="visually-hidden">Channel type</legend>
          {types.data.items.map((t) => (
            <label key={t.type} className="inline">
              <input
                type="radio"
                name="channel-type"
                value={t.type}
                checked={chosen === t.type}
                disabled={!t.available}
                onChange={() => setChosen(t.type)}
              />
              {channelLabel(t.type)}{" "}
              <span className="muted">
                ({t.available ? (t.auth === "oauth" ? "sign in with the channel" : "API keys") : "not available yet"})
              </span>
            </label>
          ))}
        </fieldset>
      </Section>
      {type && (
        <Section id="connect-details-title" title={`2. Connect ${channelLabel(type.type)}`}>
          {type.auth === "api_key" ? <ApiKeyForm key={type.type} type={type} /> : <OAuthForm key={type.type} type={type} />}
        </Section>
      )}
    </>
  );
}

export function ConnectChannelPage() {
  const me = useMe();
  const canManage = useCan("channels:manage");
  return (
    <>
      <p className="crumbs">
        <Link href="/channels">← Channels</Link>
      </p>
      <h1>Connect a channel</h1>
      {me.data && !canManage && <p className="empty">Your role may not connect channels; an admin or the owner can.</p>}
      <Can permission="channels:manage">
        <Wizard />
      </Can>
    </>
  );
}
