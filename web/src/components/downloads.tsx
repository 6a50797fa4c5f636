// File downloads with the login token: a plain link would send no Authorization header, so the
// file is fetched through the typed client (with request()'s 401 refresh), held as a Blob and saved
// through a temporary object URL. Used by the order export and every analytics table.
import { useMutation } from "@tanstack/react-query";
import { useId } from "react";
import { request, type Outcome } from "../api/client";

export type FileFormat = "csv" | "xlsx";
export const FILE_FORMATS: readonly FileFormat[] = ["csv", "xlsx"];

/** The name the server gave in Content-Disposition, or `fallback`. */
function filename(response: Response | undefined, fallback: string): string {
  const header = response?.headers.get("Content-Disposition") ?? "";
  const match = /filename="?([^";]+)"?/i.exec(header);
  return match?.[1] ?? fallback;
}

/**
 * Runs `call` (an api.GET with `parseAs: "blob"`) and saves its answer; resolves to the file name.
 * A failure is request()'s ApiError (problem+json in words).
 */
export async function saveDownload(what: string, fallback: string, call: () => Promise<Outcome<Blob>>): Promise<string> {
  let response: Response | undefined;
  const blob = await request(what, async () => {
    const outcome = await call();
    response = outcome.response;
    return outcome;
  });
  const name = filename(response, fallback);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** "CSV" and "XLSX" buttons with the download's progress, result or error announced beside them. */
export function DownloadButtons({
  label,
  download,
}: {
  label: string;
  download: (format: FileFormat) => Promise<string>;
}) {
  const saving = useMutation({ mutationFn: download });
  const labelId = useId();
  return (
    <div className="exports">
      <span className="muted" id={labelId}>
        {label}
      </span>
      <div className="actions" role="group" aria-labelledby={labelId}>
        {FILE_FORMATS.map((format) => (
          <button
            key={format}
            type="button"
            className="secondary"
            disabled={saving.isPending}
            onClick={() => saving.mutate(format)}
          >
            {format.toUpperCase()}
          </button>
        ))}
      </div>
      {saving.isPending && (
        <span className="muted" role="status">
          Preparing the file…
        </span>
      )}
      {saving.isSuccess && (
        <span className="ok-text" role="status">
          Downloaded {saving.data}.
        </span>
      )}
      {saving.error && (
        <span className="error-text" role="alert">
          {saving.error.message}
        </span>
      )}
    </div>
  );
}
