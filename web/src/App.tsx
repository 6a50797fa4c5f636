import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { loadSession, logout, onSessionChange, type Session } from "./api/client";
import { LoginPage } from "./pages/Login";
import { OverviewPage } from "./pages/Overview";
import { Link, navigate, usePath } from "./router";

function useSession(): Session | null {
  const [session, setSession] = useState(loadSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}

export function App() {
  const path = usePath();
  const session = useSession();
  const queryClient = useQueryClient();
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
        <nav aria-label="Main">
          <Link href="/" aria-current={path === "/" ? "page" : undefined}>
            Overview
          </Link>
          <a href="/api/v1/docs">API docs</a>
        </nav>
        <button type="button" className="secondary" onClick={signOut}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {path === "/" ? (
          <OverviewPage />
        ) : (
          <section>
            <h1>Page not found</h1>
            <p>
              There is no page at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
            </p>
          </section>
        )}
      </main>
    </>
  );
}
