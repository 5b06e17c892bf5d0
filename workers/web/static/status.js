// The status page's behaviour: refresh the live part every 5 s, keep the API token, send refetches.
// Plain JavaScript, no build step; the server renders every table (GET /fragments/live).
"use strict";

const TOKEN_KEY = "feedworkers-token";
const REFRESH_MS = 5000;
const answers = new Map(); // feed id -> {text, kind}: survives the 5-second re-render

const live = document.getElementById("live");
const tokenField = document.getElementById("token");
const tokenState = document.getElementById("token-state");
const refreshed = document.getElementById("refreshed");

tokenField.value = localStorage.getItem(TOKEN_KEY) || "";
showTokenState();
tokenField.addEventListener("input", () => {
  localStorage.setItem(TOKEN_KEY, tokenField.value.trim());
  showTokenState();
});

function showTokenState() {
  tokenState.textContent = tokenField.value.trim() ? "saved in this browser" : "needed for Refetch now";
}

async function refresh() {
  try {
    const response = await fetch("/fragments/live", { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    live.innerHTML = await response.text();
    refreshed.textContent = "updated " + new Date().toLocaleTimeString();
    refreshed.classList.remove("bad");
  } catch (error) {
    refreshed.textContent = "refresh failed (" + error.message + "), retrying";
    refreshed.classList.add("bad");
  }
  for (const [feed, answer] of answers) show(feed, answer.text, answer.kind, false);
}

function show(feed, text, kind, remember = true) {
  if (remember) answers.set(feed, { text, kind });
  const span = live.querySelector(`[data-answer="${CSS.escape(feed)}"]`);
  if (span) {
    span.textContent = text;
    span.className = "answer " + kind;
  }
}

async function detail(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch (_) {
    return "HTTP " + response.status;
  }
}

async function refetch(feed) {
  const token = tokenField.value.trim();
  show(feed, "sending…", "pending");
  const response = await fetch(`/api/feeds/${encodeURIComponent(feed)}/refetch`, {
    method: "POST",
    headers: token ? { Authorization: "Bearer " + token } : {},
  });
  if (response.status === 202) {
    const accepted = await response.json();
    show(feed, "accepted: poll " + accepted.poll_id.slice(0, 8), "ok");
    follow(feed, accepted.poll_id, accepted.result_url);
  } else if (response.status === 429) {
    show(feed, "refused: try again in " + (response.headers.get("Retry-After") || "a few") + " s", "warn");
  } else if (response.status === 401) {
    show(feed, "401: wrong or missing token", "bad");
  } else {
    show(feed, response.status + ": " + (await detail(response)), "bad");
  }
}

// Follow a poll until every story it enqueued has an outcome, then refresh at once.
async function follow(feed, pollId, url) {
  for (let attempt = 0; attempt < 120; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let poll;
    try {
      const response = await fetch(url, { cache: "no-store" });
      if (!response.ok) continue;
      poll = await response.json();
    } catch (_) {
      continue; // the server restarting or the network blinking: keep following
    }
    if (poll.done) {
      const text = `done (${poll.status}): ${poll.new} new, ${poll.updated} updated, ${poll.duplicates} duplicates`;
      show(feed, poll.error ? text + " – " + poll.error : text, poll.errors ? "warn" : "ok");
      refresh();
      return;
    }
  }
}

live.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-refetch]");
  if (button) refetch(button.dataset.refetch).catch((error) => show(button.dataset.refetch, String(error), "bad"));
});

setInterval(refresh, REFRESH_MS);
