/**
 * The live-preview page's wiring: builds the form from `GET /api/models`, sends `generate` messages over
 * `/ws`, and connects the form, the A/B pair, the jobs and the history.
 *
 * @module
 */

import { AbPair } from "./ab_pair.js";
import { Connection, socketUrl } from "./connection.js";
import { $, fillRadioGroup } from "./dom.js";
import { clearFieldError, FieldErrors } from "./field_errors.js";
import { History } from "./history.js";
import { HistoryView } from "./history_view.js";
import { JobBoard } from "./jobs.js";
import { LocalRunner } from "./local_runner.js";
import { initialRuntime, RUNTIME_LABELS, runtimeUrl, saveRuntime } from "./runtime_choice.js";
import {
  buildRequest,
  describeSettings,
  GUIDANCE_LABELS,
  makeJobId,
  parseNumber,
  pickModel,
  randomSeed,
} from "./settings.js";
import { SettingsForm } from "./settings_form.js";

const statusLine = $("#status");
const cancelButton = $("#cancel");
const connectionBox = $("#connection");
const connectionText = $("#connection-text");

/** @param {string} text */
function announce(text) {
  statusLine.textContent = text;
}

/** The token from the page URL, when the server needs one. */
const token = new URL(location.href).searchParams.get("token");

/** @param {string} path */
function apiFetch(path) {
  return fetch(new URL(path, location.href), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: "no-store",
  });
}

const pair = new AbPair({
  toggle: $("#ab"),
  slotsContainer: $("#slots"),
  panelsContainer: $("#panels"),
  announce,
});
const form = new SettingsForm(pair);
const errors = new FieldErrors({
  form: form.form,
  general: $("#err-general"),
  inputs: form.inputs,
  slotError: (slot, field) => pair.slots[slot].errorSlot(field),
});
const historyView = new HistoryView({
  history: new History(),
  list: $("#history-list"),
  empty: $("#history-empty"),
  clearButton: $("#history-clear"),
  onRestore: restoreFromHistory,
});
const connection = new Connection(socketUrl(location.href));
/** @type {import("./jobs.js").Runner} */
const serverRunner = {
  start(job, request) {
    connection.send({ type: "generate", id: job.id, ...request, previews: { every: 1, format: "png" } });
  },
  cancel(job) {
    if (job.state === "waiting") {
      connection.dropPending((m) => m.id === job.id);
      return false;
    }
    connection.send({ type: "cancel", id: job.id });
    return true;
  },
};
const localRunner = new LocalRunner({
  base: location.href,
  onEvent: (event) => jobs.onEvent(event),
  onFrame: (frame) => jobs.onFrame(frame),
  onProgress: showDownload,
  onUnavailable(job, error) {
    // The device cannot run the model (no runtime, a failed download, out of memory): the server can.
    $("#runtime-hint").textContent = `This device cannot run the model: ${error.message}`;
    announce(`Cannot run on this device (${error.message}); generating on the server instead.`);
    sendToServer(job);
  },
});
/** Where new jobs go: `server` or `local` (this device). */
let runtime = initialRuntime(location.href, globalThis.localStorage);

const jobs = new JobBoard({
  pair,
  errors,
  announce,
  onFinished(job, event) {
    if (jobs.panelFor(job.id) && job.slot === "a" && event.unknownWords?.length) {
      $("#prompt-note").textContent = `The model does not know ${
        event.unknownWords.map((/** @type {string} */ w) => `“${w}”`).join(", ")
      }; those words were ignored.`;
    }
    historyView.add(job);
  },
  onChange: () => {
    cancelButton.disabled = jobs.active().length === 0;
  },
});

function generate() {
  errors.clear();
  const note = $("#prompt-note");
  note.textContent = "";
  if (!form.model) {
    errors.show("Cannot generate yet as the model list has not loaded", "model");
    return;
  }
  const prompt = form.prompt.value.trim();
  const seed = form.takeSeed();
  const base = {
    model: form.model.id,
    prompt,
    negativePrompt: form.negative.value.trim() || undefined,
    steps: parseNumber(form.steps.value),
    seed,
  };
  // Let the server judge the values, so its messages show next to the fields; NaN would not survive JSON.
  for (const [field, value] of Object.entries({ steps: base.steps, seed: base.seed })) {
    if (value !== undefined && !Number.isFinite(value)) {
      errors.show(`Must be a number: current value is '${form.inputs[field].value}'`, field);
      return;
    }
  }
  if (prompt === "") {
    note.textContent = "The prompt is empty, so this is an unconditional sample: any digit, in any style.";
  }
  const used = pair.used();
  for (const slot of used) {
    const { guidance, cfg, apg } = pair.slots[slot].value();
    /** @type {import("./panel.js").Job} */
    const job = {
      id: makeJobId(slot),
      slot,
      settings: { ...base, guidance, cfg, ...(apg ? { apg } : {}) },
      state: runtime === "local" || connection.state === "open" ? "sent" : "waiting",
      frames: 0,
    };
    job.request = buildRequest(job.settings);
    jobs.add(job);
    if (runtime === "local") {
      job.runner = localRunner;
      job.runtime = "this device";
      localRunner.start(job, job.request);
    } else {
      sendToServer(job);
    }
  }
  form.save();
  const what = prompt === "" ? "an unconditional sample" : `“${prompt}”`;
  announce(
    runtime === "local" || connection.state === "open"
      ? `Generating ${what} with seed ${base.seed}${used.length > 1 ? ", A and B" : ""}…`
      : "Waiting for the connection to the server…",
  );
  jobs.onChange();
}

/**
 * Sends a job over the socket (also a job this device could not run).
 *
 * @param {import("./panel.js").Job} job
 */
function sendToServer(job) {
  job.runner = serverRunner;
  job.runtime = `the server${backend ? ` (${backend})` : ""}`;
  job.state = connection.state === "open" ? "sent" : "waiting";
  serverRunner.start(job, /** @type {Record<string, unknown>} */ (job.request));
}

/**
 * Shows the download of the runtime and model files for this device.
 *
 * @param {number} loaded bytes
 * @param {number} total bytes
 * @param {string} what
 */
function showDownload(loaded, total, what) {
  const row = $("#download");
  const mb = (/** @type {number} */ n) => (n / 1e6).toFixed(1);
  row.hidden = loaded >= total;
  $("#download-bar").max = Math.max(total, 1);
  $("#download-bar").value = loaded;
  $("#download-text").textContent = `Downloading ${what} for this device: ${mb(loaded)} / ${mb(total)} MB`;
  row.dataset.downloaded = String(Number(row.dataset.downloaded ?? 0) + (loaded >= total ? total : 0));
}

/**
 * Picks where new jobs run, keeps the choice in the address and for the next visit, and on this device
 * starts the downloads at once.
 *
 * @param {"server" | "local"} next
 */
function setRuntime(next) {
  runtime = next;
  saveRuntime(next, globalThis.localStorage);
  history.replaceState(history.state, "", runtimeUrl(location.href, next));
  for (const input of document.querySelectorAll("#runtime input")) {
    /** @type {HTMLInputElement} */ (input).checked = /** @type {HTMLInputElement} */ (input).value === next;
  }
  const hint = $("#runtime-hint");
  hint.textContent = next === "local"
    ? "Your browser runs the model (onnxruntime-web); the first image downloads it and the model, once."
    : "The server runs the model and streams each step.";
  if (next === "local" && form.model) {
    const shown = hint.textContent;
    localRunner.downloadBytes(form.model.id).then((bytes) => {
      if (hint.textContent !== shown) return;
      hint.textContent = "Your browser runs the model (onnxruntime-web); the first image downloads " +
        `${(bytes / 1e6).toFixed(1)} MB, once.`;
    }, () => {}); // loadModel says why, when the files cannot be listed
    localRunner.loadModel(form.model.id).catch((error) => {
      $("#runtime-hint").textContent = `This device cannot run the model: ${error.message}`;
    });
  }
}

/**
 * Puts a history entry's settings back into the form and its image, with its label, into panel A.
 *
 * @param {import("./history.js").HistoryEntry} entry
 */
async function restoreFromHistory(entry) {
  const s = entry.settings;
  form.restore({
    model: s.model,
    prompt: s.prompt,
    negativePrompt: s.negativePrompt,
    steps: s.steps,
    seed: s.seed,
    seedLocked: true,
    ab: false,
    slots: { a: { guidance: s.guidance, cfg: s.cfg, apg: s.apg } },
  });
  errors.clear();
  announce(`Restored settings: ${describeSettings(s)}.`);
  form.prompt.focus();
  const finalBlob = await (await fetch(entry.image)).blob();
  /** @type {import("./panel.js").Job} */
  const job = {
    id: `restored-${entry.id}`,
    slot: "a",
    settings: structuredClone(s),
    state: "done",
    frames: 0,
    elapsedMs: entry.elapsedMs,
    finalBlob,
    finalUrl: URL.createObjectURL(finalBlob),
  };
  const panel = pair.panels.a;
  panel.attach(job);
  panel.final();
  panel.done({ steps: s.steps ?? 0, elapsedMs: entry.elapsedMs ?? 0 });
}

// ------------------------------------------------------------------------------------------ connection

let backend = "";

connection.addEventListener("status", (e) => {
  const { state, retryInMs } = /** @type {CustomEvent} */ (e).detail;
  connectionBox.dataset.state = state;
  if (state === "open") {
    connectionText.textContent = backend ? `Connected · ${backend}` : "Connected";
    for (const job of jobs.jobs.values()) {
      if (job.state === "waiting") {
        job.state = "sent";
        jobs.panelFor(job.id)?.setState("sent", "Sending…");
      }
    }
  } else if (state === "connecting") {
    connectionText.textContent = "Connecting…";
  } else {
    connectionText.textContent = retryInMs !== undefined
      ? `Disconnected · retrying in ${Math.max(1, Math.round(retryInMs / 1000))} s`
      : "Disconnected";
    // The server forgets a socket's jobs when it closes, so nothing more will come for them.
    jobs.failActive("The connection dropped before this image finished");
  }
});
connection.addEventListener("message", (e) => jobs.onEvent(/** @type {CustomEvent} */ (e).detail));
connection.addEventListener("frame", (e) => jobs.onFrame(/** @type {CustomEvent} */ (e).detail));
globalThis.addEventListener("online", () => {
  if (connection.state === "closed") connection.connect();
});

// ------------------------------------------------------------------------------------------------ wiring

form.form.addEventListener("submit", (e) => {
  e.preventDefault();
  generate();
});
form.prompt.addEventListener("keydown", (/** @type {KeyboardEvent} */ e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.form.requestSubmit();
  }
});
form.form.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    form.form.requestSubmit();
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && jobs.active().length) {
    e.preventDefault();
    jobs.cancelAll();
  }
});
cancelButton.addEventListener("click", () => jobs.cancelAll());
for (const chip of document.querySelectorAll("[data-example]")) {
  chip.addEventListener("click", () => {
    form.prompt.value = chip.textContent?.trim() ?? "";
    form.prompt.focus();
  });
}
for (const [field, input] of Object.entries(form.inputs)) {
  input.addEventListener("input", () => {
    const error = document.querySelector(`[data-error-for="${field}"]`);
    if (error) clearFieldError(error);
    input.removeAttribute("aria-invalid");
  });
}
form.modelSelect.addEventListener("change", () => {
  const next = form.models.find((m) => m.id === form.modelSelect.value);
  if (next) form.applyModel(next);
  if (next && runtime === "local") setRuntime("local");
  form.save();
});
$("#dice").addEventListener("click", () => {
  form.seed.value = String(randomSeed());
  form.setSeedLocked(true);
  announce(`New seed ${form.seed.value}, locked.`);
});
form.lock.addEventListener("click", () => form.setSeedLocked(!form.seedLocked));
form.seed.addEventListener("input", () => form.seedTyped());
pair.toggle.addEventListener("change", () => {
  const before = pair.slots.b.mode;
  pair.switchTo(pair.toggle.checked);
  if (pair.on && pair.slots.b.mode !== before) {
    announce(`A/B on: B uses ${GUIDANCE_LABELS[pair.slots.b.mode] ?? pair.slots.b.mode} to compare with A.`);
  }
  form.save();
});
$("#history-clear").addEventListener("click", () => {
  historyView.clear();
  announce("History cleared.");
});

// ------------------------------------------------------------------------------------------------- start

/** Loads the model list, retrying while the server starts. */
async function loadModels() {
  for (let attempt = 0;; attempt++) {
    try {
      const response = await apiFetch("api/models");
      if (!response.ok) throw new Error(`GET /api/models answered ${response.status}`);
      const body = await response.json();
      if (!Array.isArray(body.models) || body.models.length === 0) {
        throw new Error("The server lists no models");
      }
      return body.models;
    } catch (error) {
      const wait = Math.min(10_000, 500 * 2 ** attempt);
      announce(
        `Waiting for the server (${/** @type {Error} */ (error).message}); retrying in ${
          Math.ceil(wait / 1000)
        } s…`,
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

async function loadBackend() {
  try {
    const response = await apiFetch("healthz");
    if (!response.ok) return;
    backend = (await response.json()).backend ?? "";
    if (connection.state === "open") connectionText.textContent = `Connected · ${backend}`;
  } catch {
    // The badge is a nicety; the socket status says whether the server is there.
  }
}

async function start() {
  fillRadioGroup($("#runtime"), {
    name: "runtime",
    options: Object.entries(RUNTIME_LABELS),
    checked: runtime,
    onPick: (next) => setRuntime(/** @type {"server" | "local"} */ (next)),
  });
  pair.set(false);
  form.setSeedLocked(false);
  historyView.render();
  connection.connect();
  loadBackend();
  form.setModels(await loadModels());
  const saved = form.load();
  form.applyModel(pickModel(form.models, saved?.model));
  if (saved) form.restore(saved);
  setRuntime(runtime);
  document.body.dataset.ready = "true";
  announce("Ready. Type a prompt and press Enter.");
}

start();
