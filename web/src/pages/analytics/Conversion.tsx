// Conversion by channel (GET /analytics/conversion-by-channel): orders per channel and orders /
// sessions. No channel API reports sessions; the merchant imports them (SessionsImport), and a
// channel without sessions for every day of the range reads "n/a" (null in the API), never a
// made-up rate.
import { Can } from "../../api/permissions";
import { DownloadButtons } from "../../components/downloads";
import { Failed, Loading, Section } from "../../components/ui";
import { channelLabel, downloadReport, useConversion, type Range } from "./data";
import { SessionsImport } from "./SessionsImport";

const rate = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 2 });

export function ConversionByChannel({ days }: { days: Range }) {
  const { data, error, isPending, refetch } = useConversion(days);
  return (
    <Section id="conversion-title" title="Conversion by channel">
      {isPending ? (
        <Loading what="conversion by channel" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">No orders in the last {days} days.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Orders and conversion per channel</caption>
              <thead>
                <tr>
                  <th scope="col">Channel</th>
                  <th scope="col" className="num">
                    Orders
                  </th>
                  <th scope="col" className="num">
                    Sessions
                  </th>
                  <th scope="col" className="num">
                    Conversion
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((item) => (
                  <tr key={item.channel}>
                    <th scope="row">{channelLabel(item.channel)}</th>
                    <td className="num">{item.orders}</td>
                    <td className="num">{item.sessions ?? "n/a"}</td>
                    <td className="num">{item.conversion === null ? "n/a" : rate.format(item.conversion)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.items.every((item) => item.conversion === null) && (
            <p className="muted">
              No sessions cover these days, so conversion is not available (n/a): import them below.
            </p>
          )}
          <DownloadButtons
            label="Download this table:"
            download={(format) => downloadReport("conversion-by-channel", days, format)}
          />
        </>
      )}
      <Can permission="orders:write">
        <SessionsImport />
      </Can>
    </Section>
  );
}
