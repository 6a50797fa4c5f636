// The building blocks every page shares, so loading, failure and empty states look and read the
// same everywhere (the overview's, first written there).
import type { ReactNode } from "react";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(value: string | null | undefined): string {
  if (!value) return "never";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateFormat.format(date);
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Failed({ error, retry }: { error: Error; retry: () => void }) {
  return (
    <div className="error" role="alert">
      <p>{error.message}</p>
      <button type="button" className="secondary" onClick={retry}>
        Try again
      </button>
    </div>
  );
}

export function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section aria-labelledby={id} className="card">
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** Keyset paging: the server hands out only a "next" cursor, so usePager keeps the ones seen. */
export interface Pager {
  cursor: string | null;
  page: number;
  next: (cursor: string) => void;
  previous: () => void;
}

export function PagerNav({ pager, nextCursor, label }: { pager: Pager; nextCursor: string | null | undefined; label: string }) {
  if (pager.page === 1 && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" disabled={pager.page === 1} onClick={pager.previous}>
        Previous
      </button>
      <span className="muted">Page {pager.page}</span>
      <button
        type="button"
        className="secondary"
        disabled={!nextCursor}
        onClick={() => nextCursor && pager.next(nextCursor)}
      >
        Next
      </button>
    </nav>
  );
}

/** A labelled text input with its error beside it (aria-invalid + aria-describedby), the shape
 * every form of the dashboard uses. */
export function TextField({
  id,
  label,
  value,
  onChange,
  error,
  type = "text",
  required = false,
  maxLength,
  inputMode,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  type?: "text" | "url" | "email" | "password";
  required?: boolean;
  maxLength?: number;
  inputMode?: "numeric" | "decimal" | "text";
}) {
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        value={value}
        required={required}
        maxLength={maxLength}
        inputMode={inputMode}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
      />
      {error && (
        <small id={errorId} className="error-text">
          {error}
        </small>
      )}
    </div>
  );
}

/** The form-level message: the problem in words unless every field error already sits next to
 * its input (`shownFields`), plus a success line. */
export function FormOutcome({
  error,
  fields,
  shownFields,
  saved,
}: {
  error: Error | null;
  fields: Record<string, string>;
  shownFields: string[];
  saved: string | null;
}) {
  const names = Object.keys(fields);
  const showError = error && (names.length === 0 || names.some((f) => !shownFields.includes(f)));
  return (
    <>
      {showError && (
        <p className="error-text" role="alert">
          {error.message}
        </p>
      )}
      {saved && (
        <p className="ok-text" role="status">
          {saved}
        </p>
      )}
    </>
  );
}
