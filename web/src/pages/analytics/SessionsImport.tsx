// Importing storefront sessions (PUT /analytics/sessions) from a CSV the merchant exports from a
// channel's own analytics: `day,channel,sessions`, one row per UTC day and channel type. With them
// the conversion table has a rate for the ranges they cover. The file is read in the browser; a
// row the server refuses is named by its line in the file, and then nothing is stored.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type ChangeEvent } from "react";
import { ApiError, api, request } from "../../api/client";
import type { components } from "../../api/schema";

type SessionsDay = components["schemas"]["SessionsDayIn"];

const HEADER = ["day", "channel", "sessions"];

/** Rows of the file, or the problems that keep it from being sent (by line of the file). */
export function parseSessionsCsv(text: string): { days: SessionsDay[]; problems: string[] } {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  const problems: string[] = [];
  const header = (lines[0] ?? "").toLowerCase().split(",").map((cell) => cell.trim());
  if (header.join(",") !== HEADER.join(",")) {
    return { days: [], problems: [`Line 1: expected the header "${HEADER.join(",")}".`] };
  }
  const days: SessionsDay[] = [];
  lines.slice(1).forEach((line, index) => {
    if (!line) return;
    const [day = "", channel = "", sessions = ""] = line.split(",").map((cell) => cell.trim());
    const count = Number(sessions);
    if (!Number.isInteger(count) || count < 0) {
      problems.push(`Line ${index + 2}: sessions must be a whole number of 0 or more.`);
      return;
    }
    days.push({ day, channel, sessions: count });
  });
  if (days.length === 0 && problems.length === 0) problems.push("The file has no rows.");
  return { days, problems };
}

/** The server's field errors (`days[3].channel`) as lines of the file (header = line 1). */
function lineProblems(error: unknown): string[] {
  if (!(error instanceof ApiError) || !Array.isArray(error.problem?.errors)) return [];
  return error.problem.errors.map((e) => {
    const match = /^days\[(\d+)\]\.?(\w*)/.exec(e.field);
    return match ? `Line ${Number(match[1]) + 2}${match[2] ? ` (${match[2]})` : ""}: ${e.message}` : `${e.field}: ${e.message}`;
  });
}

export function SessionsImport() {
  const queryClient = useQueryClient();
  const [problems, setProblems] = useState<string[]>([]);
  const [stored, setStored] = useState<string | null>(null);
  const send = useMutation({
    mutationFn: (days: SessionsDay[]) =>
      request("Importing the sessions failed", () => api.PUT("/api/v1/analytics/sessions", { body: { days } })),
    onSuccess: (reply) => {
      setStored(`Stored sessions for ${reply.stored} channel days.`);
      // Not awaited: the import is done; the tables refetch behind the message.
      void queryClient.invalidateQueries({ queryKey: ["analytics"] });
    },
  });
  const choose = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    setStored(null);
    send.reset();
    if (!file) return;
    const parsed = parseSessionsCsv(await file.text());
    setProblems(parsed.problems);
    if (parsed.problems.length === 0) send.mutate(parsed.days);
    event.target.value = "";
  };
  const refused = lineProblems(send.error);
  const shown = problems.length ? problems : refused;
  return (
    <div className="field">
      <label htmlFor="sessions-file">Import sessions (CSV: day,channel,sessions)</label>
      <input
        id="sessions-file"
        type="file"
        accept=".csv,text/csv"
        disabled={send.isPending}
        aria-describedby="sessions-file-hint"
        onChange={(event) => void choose(event)}
      />
      <small id="sessions-file-hint" className="muted">
        One row per UTC day and channel type (shopify, woocommerce, manual…), from the channel&apos;s own
        analytics. A channel gets a rate for ranges whose every day has a figure.
      </small>
      {send.isPending && (
        <p className="muted" role="status">
          Importing…
        </p>
      )}
      {shown.length > 0 && (
        <div className="error-text" role="alert">
          <p>Nothing was imported:</p>
          <ul>
            {shown.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      {send.error && refused.length === 0 && (
        <p className="error-text" role="alert">
          {send.error.message}
        </p>
      )}
      {stored && (
        <p className="ok-text" role="status">
          {stored}
        </p>
      )}
    </div>
  );
}
