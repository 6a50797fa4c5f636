// Who holds a SKU's reserved units: its open reservations (GET /inventory/{sku}/reservations),
// newest first. Read-only: an order's hold ends by fulfilling or cancelling the order, so the page
// offers no release that would leave the order believing its stock is still held.
import { useQuery } from "@tanstack/react-query";
import { api, request } from "../api/client";
import type { components } from "../api/schema";
import { Failed, Loading, PagerNav, Section, when } from "../components/ui";
import { usePager } from "../components/usePager";

type Reservation = components["schemas"]["ReservationOut"];
type Line = components["schemas"]["ReservationLineOut"];

const PAGE = 20;

/** Units of `sku` a reservation still holds, at each location: its own lines and bundle components. */
function heldOf(reservation: Reservation, sku: string): { units: number; locations: string[] } {
  let units = 0;
  const locations = new Set<string>();
  const visit = (line: Line) => {
    if (line.sku === sku) {
      const held = line.quantity - line.committed - line.released;
      if (held > 0) {
        units += held;
        locations.add(line.location);
      }
    }
    (line.components ?? []).forEach(visit);
  };
  reservation.lines.forEach(visit);
  return { units, locations: [...locations] };
}

export function SkuReservations({ sku }: { sku: string }) {
  const pager = usePager();
  const { data, error, isPending, refetch } = useQuery({
    queryKey: ["inventory", "reservations", sku, pager.cursor],
    queryFn: () =>
      request("Loading the reservations failed", () =>
        api.GET("/api/v1/inventory/{sku}/reservations", {
          params: { path: { sku }, query: { limit: PAGE, cursor: pager.cursor ?? undefined } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  return (
    <Section id="reservations-title" title="Reservations">
      {isPending ? (
        <Loading what="reservations" />
      ) : error ? (
        <Failed error={error} retry={() => void refetch()} />
      ) : data.items.length === 0 ? (
        <p className="empty">Nothing holds this SKU: no units are reserved.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Open reservations of {sku}, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Held for</th>
                  <th scope="col" className="num">
                    Units
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Location</th>
                  <th scope="col">Since</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((r) => {
                  const held = heldOf(r, sku);
                  return (
                    <tr key={r.id}>
                      <th scope="row">{r.order_ref}</th>
                      <td className="num">{held.units}</td>
                      <td>{r.status === "PARTIALLY_COMMITTED" ? "partly shipped" : "held"}</td>
                      <td>{held.locations.join(", ")}</td>
                      <td>{when(r.created_at)}</td>
                      <td>{r.expires_at ? when(r.expires_at) : "until shipped or cancelled"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <PagerNav pager={pager} nextCursor={data.next_cursor} label="Reservation pages" />
        </>
      )}
    </Section>
  );
}
