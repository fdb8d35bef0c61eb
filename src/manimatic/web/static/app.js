// manimatic viewer: table sorting and filtering, "play all", and the studio.
// Text from records is never inserted as HTML here: the server renders (and escapes) fragments,
// and everything else goes through textContent.
"use strict";

function cellValue(row, index, numeric) {
  const cell = row.children[index];
  if (!cell) return numeric ? -Infinity : "";
  const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
  if (!numeric) return raw.toLowerCase();
  const n = parseFloat(raw.replace("%", ""));
  return Number.isNaN(n) ? -Infinity : n;
}

function makeSortable(table) {
  const heads = table.querySelectorAll("thead th");
  heads.forEach((th, index) => {
    th.classList.add("sort");
    th.addEventListener("click", () => {
      const numeric = th.dataset.type === "num";
      const asc = th.dataset.dir !== "asc";
      heads.forEach((h) => delete h.dataset.dir);
      th.dataset.dir = asc ? "asc" : "desc";
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach((r) => body.appendChild(r));
    });
  });
}

function makeFilter(input) {
  const table = document.getElementById(input.dataset.filterTable);
  if (!table) return;
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    Array.from(table.tBodies[0].rows).forEach((row) => {
      const text = row.textContent.toLowerCase();
      row.hidden = !words.every((w) => text.includes(w));
    });
  });
}

function playAll() {
  const videos = document.querySelectorAll("video.clip");
  videos.forEach((v) => { v.currentTime = 0; v.play().catch(() => {}); });
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: "bad reply from the server" }; }
  if (!response.ok && !data.error) data.error = `HTTP ${response.status}`;
  return data;
}

function setStudioError(text) {
  const box = document.getElementById("studio-error");
  box.textContent = text || "";
  box.classList.toggle("hidden", !text);
}

function showVideo(url) {
  const video = document.getElementById("studio-video");
  if (!url) return;
  video.src = url;
  video.load();
}

function startStudio() {
  const form = document.getElementById("studio-form");
  if (!form) return;
  const status = document.getElementById("studio-status");
  const rounds = document.getElementById("rounds-live");
  const code = document.getElementById("code");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setStudioError("");
    rounds.replaceChildren();
    status.textContent = "starting...";
    document.body.dataset.studio = "running";
    const data = await postJSON("/api/studio/generate", {
      description: document.getElementById("description").value,
      model: document.getElementById("model").value,
      strategy: document.getElementById("strategy").value,
      rounds: document.getElementById("rounds").value,
    });
    if (data.error) {
      setStudioError(data.error);
      status.textContent = "";
      document.body.dataset.studio = "error";
      return;
    }
    status.textContent = "generating...";
    const source = new EventSource(data.events);
    source.addEventListener("round", (e) => {
      const payload = JSON.parse(e.data);
      // payload.html is rendered by the server with autoescape on (LLM text escaped there).
      rounds.insertAdjacentHTML("beforeend", payload.html);
      status.textContent = `round ${payload.attempt} (${payload.kind}) done...`;
    });
    source.addEventListener("done", (e) => {
      const payload = JSON.parse(e.data);
      source.close();
      code.value = payload.code || "";
      status.textContent = payload.ok
        ? `rendered in ${payload.rounds} attempt(s)`
        : `no working scene after ${payload.rounds} attempt(s)`;
      if (!payload.ok) setStudioError(payload.error || "failed");
      if (payload.ok && !payload.video_url) setStudioError(`video outside manimatic's folders: ${payload.video}`);
      showVideo(payload.video_url);
      document.body.dataset.studio = "done";
    });
    source.addEventListener("error", (e) => {
      if (e.data) {
        setStudioError(JSON.parse(e.data).message);
        document.body.dataset.studio = "error";
      }
      source.close();
      if (document.body.dataset.studio === "running") {
        status.textContent = "connection lost";
      }
    });
  });
  document.getElementById("rerender").addEventListener("click", async () => {
    const note = document.getElementById("render-status");
    note.textContent = "rendering in the sandbox...";
    setStudioError("");
    const data = await postJSON("/api/studio/render", { code: code.value });
    if (data.error && data.ok === undefined) {
      note.textContent = "";
      setStudioError(data.error);
      return;
    }
    note.textContent = data.ok ? `rendered in ${data.elapsed_s.toFixed(1)}s` : "render failed";
    if (!data.ok) setStudioError(data.error);
    showVideo(data.video_url);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  document.querySelectorAll("input[data-filter-table]").forEach(makeFilter);
  const button = document.getElementById("play-all");
  if (button) button.addEventListener("click", playAll);
  startStudio();
});
