// The inbox's live stream: duty's WatchTasks (a Connect server stream through the gateway,
// docs/api/http.md "A stream") kept open while the page is shown. Dropped (the gateway
// restarts, the network goes), it comes back by itself after a backoff (inbox.ts) and says
// so; the browser going offline drops it at once and coming back online retries at once.
// It stops for good when the page is left or the person signs out (the call is aborted).
import { onBeforeUnmount, reactive, shallowRef, watch } from "vue";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Task } from "@wuye/clients/gen/wuye/duty/v1/duty_pb.js";
import { duty } from "../api/duty";
import { session } from "../auth/session";
import { applyUpdate, backoffMs, emptyInbox, newConnection, reconnects, settle, type Inbox } from "./inbox";

export type StreamState = "connecting" | "live" | "reconnecting" | "stopped";

/** After the stream's headers, how long its first burst may go quiet before it is over. */
const BURST_QUIET_MS = 1500;
/** A connection open this long without a message counts as one that worked. */
const HEALTHY_MS = 10_000;

export function useTaskStream(estateId: string, mine: () => boolean) {
  const inbox = shallowRef<Inbox<Task>>(emptyInbox<Task>());
  const status = reactive({
    state: "connecting" as StreamState,
    attempt: 0,
    retryAt: 0,
    /** The browser says it is offline: waiting for the network, not for a timer. */
    offline: !navigator.onLine,
    error: "",
    /** Connections made (1 the first), for the screen and the tests. */
    connections: 0,
  });
  /** Tasks raised or changed while the page was open (not in a first burst): shown as new. */
  const fresh = reactive(new Set<string>());

  let stopped = false;
  let call: AbortController | undefined;
  let wake: (() => void) | undefined;
  let settleTimer: number | undefined;
  /** Connections since the inbox was (re)started: the first one's burst is not "new". */
  let attempts = 0;
  let restarting = false;

  function armSettle() {
    window.clearTimeout(settleTimer);
    settleTimer = window.setTimeout(() => {
      inbox.value = settle(inbox.value);
    }, BURST_QUIET_MS);
  }

  function sleep(msToWait: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = window.setTimeout(done, msToWait);
      function done() {
        window.clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  async function run() {
    while (!stopped) {
      const ctrl = new AbortController();
      call = ctrl;
      restarting = false;
      inbox.value = newConnection(inbox.value);
      status.connections++;
      attempts++;
      let code: number | undefined;
      // The backoff starts again only after a connection that worked: one that brought a
      // message or lasted (a gateway that answers and drops at once is not one).
      let since = 0;
      let heard = false;
      try {
        const live = () => {
          if (status.state !== "live") {
            status.state = "live";
            status.error = "";
            since = Date.now();
            armSettle();
          }
        };
        for await (const u of duty.watchTasks({ estateId, mine: mine() }, { signal: ctrl.signal, onHeader: live })) {
          live();
          heard = true;
          if (u.initial) armSettle();
          else window.clearTimeout(settleTimer);
          const before = u.task ? inbox.value.rows.get(u.task.id) : undefined;
          inbox.value = applyUpdate(inbox.value, u);
          // New to this screen: a change, or a task first seen after a reconnect.
          if (u.task && (!u.initial || (!before && attempts > 1))) fresh.add(u.task.id);
        }
      } catch (e) {
        code = ConnectError.from(e).code;
        // A stream's refusal comes after its headers, past the transport's interceptor:
        // the token refused ends the session here too (api/clients.ts does it for calls).
        if (code === Code.Unauthenticated && session.token()) {
          session.signOut();
          return;
        }
        if (!ctrl.signal.aborted && !reconnects(code)) {
          status.state = "stopped";
          status.error = ConnectError.from(e).rawMessage;
          return;
        }
      } finally {
        window.clearTimeout(settleTimer);
      }
      if (stopped) return;
      if (restarting) {
        // Another view asked for (reopen): straight to the new connection.
        restarting = false;
        continue;
      }
      if (heard || (since && Date.now() - since >= HEALTHY_MS)) status.attempt = 0;
      // Dropped: wait (backoff, or until the browser is online again), then once more.
      status.state = "reconnecting";
      status.offline = !navigator.onLine;
      const wait = status.offline ? 24 * 3600_000 : ctrl.signal.aborted ? 0 : backoffMs(status.attempt++);
      status.retryAt = status.offline ? 0 : Date.now() + wait;
      await sleep(wait);
      status.offline = !navigator.onLine;
    }
  }

  function restart() {
    if (stopped) return;
    restarting = true;
    window.clearTimeout(settleTimer);
    call?.abort();
    wake?.();
  }
  function onOffline() {
    // The connection is gone with the network: say so now rather than at its timeout.
    status.offline = true;
    call?.abort();
  }
  function onOnline() {
    status.offline = false;
    status.attempt = 0;
    wake?.();
  }
  function stop() {
    if (stopped) return;
    stopped = true;
    window.clearTimeout(settleTimer);
    call?.abort();
    wake?.();
    window.removeEventListener("offline", onOffline);
    window.removeEventListener("online", onOnline);
  }

  window.addEventListener("offline", onOffline);
  window.addEventListener("online", onOnline);
  // Signing out (or the session expiring) ends the stream before the page goes.
  const unwatch = watch(
    () => session.state.current,
    (s) => {
      if (!s) stop();
    },
  );
  onBeforeUnmount(() => {
    unwatch();
    stop();
  });

  /** Another view of the tasks (mine or all): a new stream, the inbox started again. */
  function reopen() {
    inbox.value = emptyInbox<Task>();
    fresh.clear();
    attempts = 0;
    status.state = "connecting";
    status.attempt = 0;
    restart();
  }
  /** After a refusal stopped it: try again by hand. */
  function retry() {
    if (status.state !== "stopped" || stopped) return;
    status.state = "connecting";
    status.attempt = 0;
    run();
  }
  /** A task's newer version from a call's answer (an acknowledgement): merged like a change. */
  function merge(task: Task) {
    inbox.value = applyUpdate(inbox.value, { task, initial: !inbox.value.settled });
  }

  run();
  return { inbox, status, fresh, reopen, retry, merge, stop };
}
