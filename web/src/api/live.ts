// Live updates (docs/decisions/0012-live-updates.md): the gateway streams a small notice whenever
// the tenant's stock, alerts or channel health change (server-sent events, GET /api/v1/events),
// and the queries showing that data are re-read. EventSource cannot send the bearer token, so each
// stream opens with a one-time ticket (POST /api/v1/events/ticket); the token never goes in a URL.
// When the stream is refused or drops, the same queries are re-read every 10 s instead (cheap:
// unchanged lists answer 304, see the ETag middleware in client.ts), and the stream is tried again.
import { useQueryClient, type Query, type QueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, request } from "./client";

export type LiveStatus = "off" | "connecting" | "live" | "polling";
type Topic = "inventory" | "channels" | "alerts";

const TOPICS: readonly Topic[] = ["inventory", "channels", "alerts"];
export const POLL_SECONDS = 10;
// After a failure the stream is tried again after 2 s, 4 s ... at most a minute (polling meanwhile).
const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 60_000;

/** The SKUs a notice names, or null for "all of the topic". */
function noticeSkus(data: string): string[] | null {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === "object" && Array.isArray((parsed as { skus?: unknown }).skus)) {
      return (parsed as { skus: unknown[] }).skus.filter((s): s is string => typeof s === "string");
    }
  } catch {
    // A notice we cannot read still says the topic changed.
  }
  return null;
}

/** Whether a query shows data of `topic` (for inventory: of one of `skus`, when named). */
function shows(query: Query, topic: Topic, skus: string[] | null): boolean {
  const [area, kind, id] = query.queryKey as unknown[];
  if (topic === "channels") return area === "channels";
  if (topic === "alerts") return area === "alerts" || (area === "inventory" && kind === "low_stock");
  // inventory: lists and the overview always; a SKU's page and history only for a named SKU.
  if (area === "alerts") return true; // low-stock alerts close with the stock that heals them
  if (area !== "inventory") return false;
  if ((kind === "sku" || kind === "history") && skus !== null) return typeof id === "string" && skus.includes(id);
  return true;
}

function refresh(queryClient: QueryClient, topic: Topic, skus: string[] | null): void {
  void queryClient.invalidateQueries({ predicate: (query) => shows(query, topic, skus) });
}

function refreshAll(queryClient: QueryClient): void {
  for (const topic of TOPICS) refresh(queryClient, topic, null);
}

/**
 * Keeps the inventory, alerts and channel queries current while `enabled` (a session exists).
 * Mount once (App). Returns what the header shows: "live", "polling" (every POLL_SECONDS s),
 * "connecting" or "off".
 */
export function useLiveUpdates(enabled: boolean): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");

  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let source: EventSource | null = null;
    let retryTimer: number | undefined;
    let pollTimer: number | undefined;
    let failures = 0;
    let opened = false;

    const startPolling = () => {
      if (pollTimer === undefined) {
        pollTimer = window.setInterval(() => refreshAll(queryClient), POLL_SECONDS * 1000);
      }
      setStatus("polling");
    };
    const stopPolling = () => {
      window.clearInterval(pollTimer);
      pollTimer = undefined;
    };
    const closeSource = () => {
      source?.close();
      source = null;
    };
    const failed = () => {
      closeSource();
      if (stopped) return;
      failures += 1;
      startPolling();
      const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(failures - 1, 5));
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(() => void connect(), delay);
    };

    async function connect(): Promise<void> {
      if (stopped) return;
      if (typeof EventSource === "undefined") {
        startPolling();
        return;
      }
      let ticket: string;
      try {
        ticket = (await request("Starting live updates", () => api.POST("/api/v1/events/ticket"))).ticket;
      } catch {
        failed();
        return;
      }
      if (stopped) return;
      const stream = new EventSource(`/api/v1/events?ticket=${encodeURIComponent(ticket)}`);
      source = stream;
      stream.onopen = () => {
        failures = 0;
        stopPolling();
        setStatus("live");
        // What changed while there was no stream (a reconnect, a stretch of polling) is read once.
        if (opened) refreshAll(queryClient);
        opened = true;
      };
      for (const topic of TOPICS) {
        stream.addEventListener(topic, (event) =>
          refresh(queryClient, topic, noticeSkus(typeof event.data === "string" ? event.data : "")),
        );
      }
      // The server ends each stream after a few minutes: a new ticket, a new stream, no gap in status.
      stream.addEventListener("bye", () => {
        closeSource();
        void connect();
      });
      // A refused stream (503 over the server's cap, 401) or a dropped connection. EventSource would
      // reconnect with the same, spent ticket: close it and poll until a new one works.
      stream.onerror = () => {
        if (source === stream) failed();
      };
    }

    void connect();
    return () => {
      stopped = true;
      closeSource();
      stopPolling();
      window.clearTimeout(retryTimer);
      setStatus("connecting");
    };
  }, [enabled, queryClient]);

  // Off without a session; "connecting" (the initial state) until the stream opens or polling starts.
  return enabled ? status : "off";
}
