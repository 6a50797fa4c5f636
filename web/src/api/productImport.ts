// The product CSV import with progress: POST /products/import with `Accept: application/x-ndjson`
// answers one JSON object per line (docs/api.md "Catalog"): progress lines while the file is handed
// to the catalog, then one report line, or one problem line when the import fails once started.
// The body is read with a ReadableStream reader as it arrives. The call goes through request(), so
// the bearer token and the one refresh on a 401 are exactly those of every other call.
import { api, ApiError, request, type Problem } from "./client";
import type { components, paths } from "./schema";

export type ImportReport = components["schemas"]["ImportReportOut"];
type ImportLine =
  paths["/api/v1/products/import"]["post"]["responses"][200]["content"]["application/x-ndjson"];

export interface ImportProgress {
  done: number;
  total: number;
}

const FAILED = "Importing the CSV failed";
const LOST =
  "The connection was lost before the import finished: some rows may have been imported. " +
  "Check the products before importing the file again.";

export async function importProducts(
  file: File,
  onProgress: (progress: ImportProgress) => void,
): Promise<ImportReport> {
  const stream = await request(FAILED, () =>
    api.POST("/api/v1/products/import", {
      // The multipart part named `file`; bodySerializer builds the form with the File itself (a
      // fresh one per attempt, so the repeat after a token refresh sends the whole file again).
      body: { file: file.name },
      bodySerializer: () => {
        const form = new FormData();
        form.append("file", file);
        return form;
      },
      headers: { Accept: "application/x-ndjson" },
      parseAs: "stream",
    }),
  );
  if (!stream) throw new ApiError(0, null, FAILED);
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const handle = (text: string): ImportReport | null => {
    if (!text.trim()) return null;
    const line = JSON.parse(text) as ImportLine;
    if ("progress" in line) {
      onProgress({ done: line.progress.bytes_done, total: line.progress.bytes_total });
      return null;
    }
    if ("report" in line) return line.report;
    const problem: Partial<Problem> = line.problem;
    throw new ApiError(problem.status ?? 500, problem, FAILED);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      pending += decoder.decode(value, { stream: !done });
      let end: number;
      while ((end = pending.indexOf("\n")) >= 0) {
        const report = handle(pending.slice(0, end));
        pending = pending.slice(end + 1);
        if (report) return report;
      }
      if (done) break;
    }
    const report = handle(pending);
    if (report) return report;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // A broken connection or a line that is not JSON: the outcome is unknown.
  } finally {
    reader.releaseLock();
  }
  throw new Error(LOST);
}
