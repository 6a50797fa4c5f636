// The analytics queries of the overview (docs/api.md "Analytics and reports"): one hook per
// endpoint over the shared 7/30/90-day period, and each report's CSV/XLSX download.
import { useQuery } from "@tanstack/react-query";
import { api, request, type Outcome } from "../../api/client";
import type { components } from "../../api/schema";
import { saveDownload, type FileFormat } from "../../components/downloads";

export type ChannelRevenue = components["schemas"]["ChannelRevenueOut"];
export type DailySales = components["schemas"]["DailySalesOut"];
export type SkuTurnover = components["schemas"]["SkuTurnoverOut"];
export type ChannelConversion = components["schemas"]["ChannelConversionOut"];

export const RANGES = [7, 30, 90] as const;
export type Range = (typeof RANGES)[number];
const REFRESH_MS = 30_000;
const BEST_SELLERS = 10;
const TOP_TURNOVER = 10;

const CHANNEL_LABEL: Record<string, string> = {
  shopify: "Shopify",
  woocommerce: "WooCommerce",
  manual: "Manual",
};

export function channelLabel(channel: string): string {
  return CHANNEL_LABEL[channel] ?? channel;
}

/** The API's `from`/`to` (UTC days, both inclusive) for the last `days` days ending today. */
export function utcRange(days: number, now: Date = new Date()): { from: string; to: string } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

/**
 * The JSON answer only: the OpenAPI document lists each analytics endpoint's CSV and XLSX too
 * (strings), which only `format=csv|xlsx` returns, so without a format the answer is the JSON.
 */
function json<T>(call: () => Promise<Outcome<T>>): () => Promise<Outcome<Exclude<T, string>>> {
  return call as () => Promise<Outcome<Exclude<T, string>>>;
}

export function useRevenue(days: Range) {
  return useQuery({
    queryKey: ["analytics", "revenue-by-channel", days],
    queryFn: () =>
      request(
        "Loading revenue by channel failed",
        json(() => api.GET("/api/v1/analytics/revenue-by-channel", { params: { query: utcRange(days) } })),
      ),
    refetchInterval: REFRESH_MS,
  });
}

export function useBestSellers(days: Range) {
  return useQuery({
    queryKey: ["analytics", "best-sellers", days],
    queryFn: () =>
      request(
        "Loading best sellers failed",
        json(() =>
          api.GET("/api/v1/analytics/best-sellers", {
            params: { query: { ...utcRange(days), limit: BEST_SELLERS } },
          }),
        ),
      ),
    refetchInterval: REFRESH_MS,
  });
}

export function useSalesOverTime(days: Range) {
  return useQuery({
    queryKey: ["analytics", "sales-over-time", days],
    queryFn: () =>
      request(
        "Loading sales over time failed",
        json(() => api.GET("/api/v1/analytics/sales-over-time", { params: { query: utcRange(days) } })),
      ),
    refetchInterval: REFRESH_MS,
  });
}

export function useConversion(days: Range) {
  return useQuery({
    queryKey: ["analytics", "conversion-by-channel", days],
    queryFn: () =>
      request(
        "Loading conversion by channel failed",
        json(() => api.GET("/api/v1/analytics/conversion-by-channel", { params: { query: utcRange(days) } })),
      ),
    refetchInterval: REFRESH_MS,
  });
}

export function useTurnover(days: Range) {
  return useQuery({
    queryKey: ["analytics", "inventory-turnover", days],
    queryFn: () =>
      request(
        "Loading inventory turnover failed",
        json(() =>
          api.GET("/api/v1/analytics/inventory-turnover", {
            params: { query: { ...utcRange(days), limit: TOP_TURNOVER } },
          }),
        ),
      ),
    refetchInterval: REFRESH_MS,
  });
}

export type Report =
  | "revenue-by-channel"
  | "best-sellers"
  | "sales-over-time"
  | "conversion-by-channel"
  | "inventory-turnover";

const REPORT_NAME: Record<Report, string> = {
  "revenue-by-channel": "revenue by channel",
  "best-sellers": "best sellers",
  "sales-over-time": "sales over time",
  "conversion-by-channel": "conversion by channel",
  "inventory-turnover": "inventory turnover",
};

/** A report's items over the period as a CSV or XLSX file, the same rows the section shows. */
export function downloadReport(report: Report, days: Range, format: FileFormat): Promise<string> {
  const what = `Downloading ${REPORT_NAME[report]} as ${format.toUpperCase()} failed`;
  const query = { ...utcRange(days), format };
  const fallback = `${report}.${format}`;
  const asBlob = { parseAs: "blob" } as const;
  switch (report) {
    case "revenue-by-channel":
      return saveDownload(what, fallback, () =>
        api.GET("/api/v1/analytics/revenue-by-channel", { params: { query }, ...asBlob }),
      );
    case "best-sellers":
      return saveDownload(what, fallback, () =>
        api.GET("/api/v1/analytics/best-sellers", { params: { query: { ...query, limit: BEST_SELLERS } }, ...asBlob }),
      );
    case "sales-over-time":
      return saveDownload(what, fallback, () =>
        api.GET("/api/v1/analytics/sales-over-time", { params: { query }, ...asBlob }),
      );
    case "conversion-by-channel":
      return saveDownload(what, fallback, () =>
        api.GET("/api/v1/analytics/conversion-by-channel", { params: { query }, ...asBlob }),
      );
    case "inventory-turnover":
      return saveDownload(what, fallback, () =>
        api.GET("/api/v1/analytics/inventory-turnover", { params: { query: { ...query, limit: TOP_TURNOVER } }, ...asBlob }),
      );
  }
}
