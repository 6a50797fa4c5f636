import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { loadSession, logout, onSessionChange, type Session } from "./api/client";
import { POLL_SECONDS, useLiveUpdates, type LiveStatus } from "./api/live";
import { ChannelsPage } from "./pages/Channels";
import { ConnectChannelPage } from "./pages/channels/Connect";
import { LoginPage } from "./pages/Login";
import { InventoryPage } from "./pages/Inventory";
import { InventorySkuPage } from "./pages/InventorySku";
import { OrderDetailPage } from "./pages/OrderDetail";
import { OrdersPage } from "./pages/Orders";
import { OverviewPage } from "./pages/Overview";
import { PricingPage } from "./pages/Pricing";
import { ProductDetailPage } from "./pages/ProductDetail";
import { ProductsPage } from "./pages/Products";
import { UsersPage } from "./pages/Users";
import { useCan } from "./api/permissions";
import { Link, navigate, usePath } from "./router";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/products", label: "Products" },
  { href: "/inventory", label: "Inventory" },
  { href: "/orders", label: "Orders" },
  { href: "/pricing", label: "Pricing" },
  { href: "/channels", label: "Channels" },
];

/** The section a path belongs to ("/inventory/SKU-1" is under Inventory), for aria-current. */
function section(path: string): string {
  const first = path.split("/")[1] ?? "";
  return first ? `/${first}` : "/";
}

/** The page for a path; a path segment is decoded (SKUs may hold "/" or spaces). */
function Page({ path }: { path: string }) {
  const [, first, second, ...rest] = path.split("/");
  const id = second && rest.length === 0 ? safeDecode(second) : null;
  if (path === "/") return <OverviewPage />;
  if (first === "products" && !second) return <ProductsPage />;
  if (first === "products" && id) return <ProductDetailPage key={id} id={id} />;
  if (first === "pricing" && !second) return <PricingPage />;
  if (first === "inventory" && !second) return <InventoryPage />;
  if (first === "inventory" && id) return <InventorySkuPage key={id} sku={id} />;
  if (first === "orders" && !second) return <OrdersPage />;
  if (first === "orders" && id) return <OrderDetailPage key={id} id={id} />;
  if (first === "channels" && !second) return <ChannelsPage />;
  if (first === "channels" && second === "connect" && rest.length === 0) return <ConnectChannelPage />;
  if (first === "users" && !second) return <UsersPage />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}

/** The page links; "Users" only for a role that may manage users. */
function MainNav({ path }: { path: string }) {
  const canManageUsers = useCan("users:manage");
  const items = canManageUsers ? [...NAV, { href: "/users", label: "Users" }] : NAV;
  return (
    <nav aria-label="Main">
      {items.map((item) => (
        <Link key={item.href} href={item.href} aria-current={section(path) === item.href ? "page" : undefined}>
          {item.label}
        </Link>
      ))}
      <a href="/api/v1/docs">API docs</a>
    </nav>
  );
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const LIVE_TEXT: Record<LiveStatus, string> = {
  off: "",
  connecting: "Connecting…",
  live: "Live",
  polling: `Updating every ${POLL_SECONDS} s`,
};

/** How current the figures are: pushed live, or re-read every few seconds. A polite live region. */
function LiveBadge({ status }: { status: LiveStatus }) {
  return (
    <p className={`live-status live-${status}`} role="status">
      {status !== "off" && <span className="visually-hidden">Figures: </span>}
      {LIVE_TEXT[status]}
    </p>
  );
}

function useSession(): Session | null {
  const [session, setSession] = useState(loadSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}

export function App() {
  const path = usePath();
  const session = useSession();
  const queryClient = useQueryClient();
  // Mounted once for the whole app: every page's inventory, alerts and channel queries stay current.
  const live = useLiveUpdates(session !== null);
  const atLogin = path === "/login";
  useEffect(() => {
    if (session && atLogin) navigate("/", true);
  }, [session, atLogin]);

  if (!session) {
    // The page asked for stays in the address bar; logging in shows it.
    return <LoginPage />;
  }
  if (atLogin) return null;

  const signOut = async () => {
    await logout();
    queryClient.clear();
  };

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          OmniStock
        </Link>
        <MainNav path={path} />
        <LiveBadge status={live} />
        <button type="button" className="secondary" onClick={signOut}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}
