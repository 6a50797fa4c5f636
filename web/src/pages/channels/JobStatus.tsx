// A background job of a connection (a sync, an auto-map...) followed through GET /jobs/{id} until it
// ends; then what it changed (health, log, listings: everything under ["channels"]) is fetched again.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";
import { Failed, Loading, when } from "../../components/ui";

type Job = components["schemas"]["JobStatusOut"];

const JOB_POLL_MS = 1_000;
const JOB_TONE: Record<Job["status"], string> = { queued: "muted", running: "warn", succeeded: "ok", failed: "bad" };

/** The result of a finished job in one sentence (each kind answers differently). */
function outcome(result: Job["result"]): string {
  if (!result) return "";
  if ("message" in result) return result.message;
  if ("unknown_remote_skus" in result) {
    const parts = [`${result.mapped} mapped`];
    if (result.unmapped_skus.length) parts.push(`not on the channel: ${list(result.unmapped_skus)}`);
    if (result.unknown_remote_skus.length) parts.push(`only on the channel: ${list(result.unknown_remote_skus)}`);
    return parts.join("; ");
  }
  return "";
}

function list(skus: string[]): string {
  return skus.length > 5 ? `${skus.slice(0, 5).join(", ")} +${skus.length - 5}` : skus.join(", ");
}

export function JobStatus({ jobId, label }: { jobId: string; label: string }) {
  const queryClient = useQueryClient();
  const { data, error, refetch } = useQuery({
    queryKey: ["jobs", jobId],
    queryFn: () =>
      request(`Loading the ${label.toLowerCase()} failed`, () =>
        api.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: jobId } } }),
      ),
    // Polled until it ends; a finished job does not change.
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === "succeeded" || status === "failed" ? false : JOB_POLL_MS;
    },
  });
  const ended = data?.status === "succeeded" || data?.status === "failed";
  useEffect(() => {
    // The health, the log and the listings changed with the job: fetch them again.
    if (ended) void queryClient.invalidateQueries({ queryKey: ["channels"] });
  }, [ended, queryClient]);
  if (error) return <Failed error={error} retry={() => void refetch()} />;
  if (!data) return <Loading what={`the ${label.toLowerCase()}`} />;
  const { done, total } = data.progress;
  const said = outcome(data.result);
  return (
    <p role="status" aria-live="polite" className="job">
      {label} <code>{data.id.slice(0, 8)}</code>: <span className={`badge ${JOB_TONE[data.status]}`}>{data.status}</span>
      {data.status === "running" && total !== null && total !== undefined && ` (${done} of ${total})`}
      {data.finished_at && ` at ${when(data.finished_at)}`}
      {data.error && <span className="error-text"> — {data.error}</span>}
      {said && <> — {said}</>}
    </p>
  );
}
