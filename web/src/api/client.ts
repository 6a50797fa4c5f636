// The typed API client: openapi-fetch over the types `npm run gen:api` generates from
// web/openapi.json (the gateway's OpenAPI document), so a renamed field or path fails `tsc`.
// Adds the bearer token, refreshes it once on a 401 (POST /auth/refresh, docs/api.md "Auth") and
// turns application/problem+json answers (RFC 9457) into readable messages.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Problem = components["schemas"]["Problem"];
export type TokenPair = components["schemas"]["TokenPairOut"];

export const api = createClient<paths>({ baseUrl: window.location.origin });

/** An API call that failed, with a sentence a person can read. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Partial<Problem> | null;

  constructor(status: number, problem: Partial<Problem> | null, fallback: string) {
    super(describeProblem(status, problem, fallback));
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

/** "Title: detail (field: message; ...)" from a problem document, or a plain sentence. */
export function describeProblem(status: number, problem: Partial<Problem> | null, fallback: string): string {
  if (status === 0) return "The server could not be reached. Check your connection and try again.";
  if (!problem || typeof problem !== "object") return `${fallback} (HTTP ${status}).`;
  const parts: string[] = [];
  const title = typeof problem.title === "string" ? problem.title : "";
  const detail = typeof problem.detail === "string" ? problem.detail : "";
  parts.push(detail && title && detail !== title ? `${title}: ${detail}` : detail || title || fallback);
  const fields = Array.isArray(problem.errors) ? problem.errors : [];
  if (fields.length) parts.push(fields.map((e) => `${e.field}: ${e.message}`).join("; "));
  if (status === 429) parts.push("Please wait a moment before trying again.");
  return parts.join(" — ");
}

const STORAGE_KEY = "omnistock.session";

/** Tokens live in sessionStorage: a reload of the tab keeps the session, closing it ends it. */
export interface Session {
  accessToken: string;
  refreshToken: string;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function loadSession(): Session | null {
  try {
    const raw = window.sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    if (
      parsed &&
      typeof parsed === "object" &&
      typeof (parsed as Session).accessToken === "string" &&
      typeof (parsed as Session).refreshToken === "string"
    ) {
      return parsed as Session;
    }
  } catch {
    // A corrupt entry is the same as none.
  }
  return null;
}

export function saveSession(session: Session | null): void {
  if (session) window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else window.sessionStorage.removeItem(STORAGE_KEY);
  listeners.forEach((listener) => listener(session));
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

api.use({
  onRequest({ request }) {
    const session = loadSession();
    // Login and refresh carry their credentials in the body, never a (possibly expired) bearer.
    const anonymous = /\/auth\/(login|refresh|register)$/.test(new URL(request.url).pathname);
    if (session && !anonymous) {
      request.headers.set("Authorization", `Bearer ${session.accessToken}`);
    }
    return request;
  },
});

export async function login(email: string, password: string): Promise<void> {
  const { data, error, response } = await safe(() =>
    api.POST("/api/v1/auth/login", { body: { email, password } }),
  );
  if (!data) throw new ApiError(response?.status ?? 0, error ?? null, "Logging in failed");
  saveSession({ accessToken: data.access_token, refreshToken: data.refresh_token });
}

export async function logout(): Promise<void> {
  const session = loadSession();
  saveSession(null);
  if (session) {
    // Revokes the refresh token's family; the page is already logged out whatever the answer.
    await safe(() => api.POST("/api/v1/auth/logout", { body: { refresh_token: session.refreshToken } }));
  }
}

// One refresh at a time: several queries that get a 401 together share it (the old refresh token
// stops working after one use, so a second concurrent refresh would log the user out).
let refreshing: Promise<boolean> | null = null;

export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      const session = loadSession();
      if (!session) return false;
      const { data } = await safe(() =>
        api.POST("/api/v1/auth/refresh", {
          body: { refresh_token: session.refreshToken },
        }),
      );
      if (!data) {
        saveSession(null);
        return false;
      }
      saveSession({ accessToken: data.access_token, refreshToken: data.refresh_token });
      return true;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export interface Outcome<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** A network failure (server down) as an outcome without a response instead of a thrown TypeError. */
async function safe<T>(call: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
  try {
    return await call();
  } catch (err) {
    return { error: err };
  }
}

/**
 * Runs an API call; on a 401 refreshes the session once and runs it again, so an expired access
 * token never costs the user their page. Resolves to the data or throws an ApiError.
 */
export async function request<T>(what: string, call: () => Promise<Outcome<T>>): Promise<T> {
  let outcome = await safe(call);
  if (outcome.response?.status === 401 && (await refreshSession())) {
    outcome = await safe(call);
  }
  if (outcome.data !== undefined && outcome.response?.ok) return outcome.data;
  const status = outcome.response?.status ?? 0;
  const problem = outcome.error && typeof outcome.error === "object" ? (outcome.error as Partial<Problem>) : null;
  throw new ApiError(status, problem, what);
}

/** A problem's field errors by field name ("delta", "reason", ...), to show next to each input. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || !Array.isArray(error.problem?.errors)) return {};
  const out: Record<string, string> = {};
  for (const e of error.problem.errors) out[e.field] = out[e.field] ? `${out[e.field]}; ${e.message}` : e.message;
  return out;
}

/** A fresh Idempotency-Key, so a retried submit (double click, flaky network) applies once. */
export function idempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
