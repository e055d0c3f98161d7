import { useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { Link, Navigate, Route, Routes, useNavigate } from "react-router";
import type { AccessState } from "sightline";
import { auth } from "./auth";
import { signIn, signOut, sl, useGate } from "./sightline";

function useUser(): string | null {
  return useSyncExternalStore(auth.subscribe, auth.currentUser);
}

/**
 * The access gate as a route guard: waits for the first attempt of a fresh check before
 * rendering the protected page, then follows the gate's state.
 */
function RequireAccess({ children }: { children: ReactNode }) {
  const user = useUser();
  const { state, reason } = useGate();
  const [checked, setChecked] = useState<AccessState | null>(null);

  useEffect(() => {
    let current = true;
    setChecked(null);
    sl.checkAccess().then((first) => current && setChecked(first));
    return () => {
      current = false;
    };
  }, [user]);

  if (user === null) return <Navigate to="/" replace />;
  if (checked === null) return <p className="status">Checking access…</p>;
  if (state === "granted") return <>{children}</>;
  if (state === "denied" && reason === "fail-closed") {
    // The server could not be reached for a while: not "no access".
    return (
      <p className="status">
        We can't reach the server right now. <button onClick={() => void sl.checkAccess()}>Try again</button>
      </p>
    );
  }
  if (state === "denied") return <p className="status">You're not invited to the beta lab yet.</p>;
  return <p className="status">Checking access…</p>; // "unknown": a slow server; onChange follows
}

function Home() {
  const user = useUser();
  const navigate = useNavigate();
  const enter = async (name: string) => {
    await signIn(name);
    navigate("/lab");
  };
  return (
    <section>
      <h1>sightline + React</h1>
      {user === null ? (
        <p>
          <button onClick={() => void enter("alice")}>Sign in as alice</button>{" "}
          <button onClick={() => void enter("bob")}>Sign in as bob</button>
        </p>
      ) : (
        <p>
          Signed in as <span className="user-name">{user}</span>. <Link to="/lab">Open the beta lab</Link>
        </p>
      )}
    </section>
  );
}

function Lab() {
  const [sent, setSent] = useState(0);
  return (
    <section>
      <h1>Beta lab</h1>
      <p>Only invited users see this page.</p>
      <button
        onClick={() => {
          sl.track("lab-experiment", { variant: "b" });
          setSent((n) => n + 1);
        }}
      >
        Run an experiment
      </button>{" "}
      <span className="sent">{sent} sent</span>
    </section>
  );
}

export function App() {
  const user = useUser();
  const navigate = useNavigate();
  return (
    <>
      <nav>
        <Link to="/">Home</Link> · <Link to="/lab">Beta lab</Link>
        {user !== null && (
          <>
            {" · "}
            <button
              className="sign-out"
              onClick={() => {
                signOut();
                navigate("/");
              }}
            >
              Sign out
            </button>
          </>
        )}
      </nav>
      <Routes>
        <Route path="/" element={<Home />} />
        <Route
          path="/lab"
          element={
            <RequireAccess>
              <Lab />
            </RequireAccess>
          }
        />
      </Routes>
    </>
  );
}
