"use strict";
// The page calls the gateway's own JSON API; every failure is shown as a readable message.

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new Error("The gateway cannot be reached.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    throw new Error(`Unexpected answer (HTTP ${response.status}).`);
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

function postJson(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function showError(id, error) {
  $(id).textContent = error ? `Error: ${error.message}` : "";
}

function modelLine(model) {
  return `model ${model.name}, version ${model.version}`;
}

// Digits: draw with pointer events, classify with ?explain=rows.
const pad = $("digit-canvas");
const pen = pad.getContext("2d");
let drawing = false;

function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * pad.width) / box.width,
    ((event.clientY - box.top) * pad.height) / box.height,
  ];
}

pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  pad.setPointerCapture?.(event.pointerId);
  const [x, y] = padPoint(event);
  pen.beginPath();
  pen.moveTo(x, y);
  pen.lineTo(x + 0.1, y + 0.1);
  pen.stroke();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = padPoint(event);
  pen.lineTo(x, y);
  pen.stroke();
});
for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
  pad.addEventListener(name, () => {
    drawing = false;
  });
}

function setupPen() {
  pen.strokeStyle = "#000";
  pen.lineWidth = 20;
  pen.lineCap = "round";
  pen.lineJoin = "round";
}

function renderBars(probabilities) {
  const bars = $("digit-bars");
  bars.replaceChildren();
  probabilities.forEach((p, digit) => {
    const label = document.createElement("span");
    label.textContent = String(digit);
    const track = document.createElement("span");
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.display = "block";
    bar.style.width = `${Math.max(1, p * 100).toFixed(1)}%`;
    track.appendChild(bar);
    const value = document.createElement("span");
    value.textContent = `${(p * 100).toFixed(1)}%`;
    bars.append(label, track, value);
  });
}

function renderRows(rows) {
  const canvas = $("digit-rows");
  const context = canvas.getContext("2d");
  const cellWidth = canvas.width / rows.length;
  const cellHeight = canvas.height / 10;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  rows.forEach((probabilities, row) => {
    probabilities.forEach((p, digit) => {
      context.fillStyle = `rgba(11, 83, 148, ${p.toFixed(3)})`;
      context.fillRect(row * cellWidth, digit * cellHeight, cellWidth, cellHeight);
    });
  });
  canvas.dataset.rows = String(rows.length);
}

async function classify(image) {
  showError("digit-error", null);
  $("digit-result").textContent = "Classifying…";
  try {
    const body = await postJson("/v1/digits?explain=rows", { images: [image] });
    const prediction = body.predictions[0];
    $("digit-result").textContent =
      `Digit ${prediction.digit} (${(prediction.probabilities[prediction.digit] * 100).toFixed(1)}%)` +
      ` — ${modelLine(body.model)}`;
    $("digit-result").dataset.digit = String(prediction.digit);
    renderBars(prediction.probabilities);
    renderRows(prediction.rows);
  } catch (error) {
    $("digit-result").textContent = "";
    showError("digit-error", error);
  }
}

$("digit-classify").addEventListener("click", () => classify({ b64: pad.toDataURL("image/png") }));
$("digit-clear").addEventListener("click", () => {
  clearPad();
  $("digit-result").textContent = "";
  $("digit-bars").replaceChildren();
});
$("digit-file").addEventListener("change", () => {
  const file = $("digit-file").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => classify({ b64: reader.result });
  reader.onerror = () => showError("digit-error", new Error("The file cannot be read."));
  reader.readAsDataURL(file);
});

// Sum: toggle bits, compare the model with the true count.
function renderBits() {
  const length = Math.min(64, Math.max(1, Number($("sum-length").value) || 1));
  const bits = $("sum-bits");
  const old = [...bits.children].map((b) => b.getAttribute("aria-pressed") === "true");
  bits.replaceChildren();
  for (let index = 0; index < length; index += 1) {
    const bit = document.createElement("button");
    bit.type = "button";
    const on = old[index] || false;
    bit.setAttribute("aria-pressed", String(on));
    bit.setAttribute("aria-label", `bit ${index + 1}`);
    bit.textContent = on ? "1" : "0";
    bit.addEventListener("click", () => {
      const pressed = bit.getAttribute("aria-pressed") !== "true";
      bit.setAttribute("aria-pressed", String(pressed));
      bit.textContent = pressed ? "1" : "0";
    });
    bits.appendChild(bit);
  }
}

$("sum-length").addEventListener("change", renderBits);
$("sum-predict").addEventListener("click", async () => {
  showError("sum-error", null);
  const sequence = [...$("sum-bits").children].map((b) =>
    b.getAttribute("aria-pressed") === "true" ? 1 : 0,
  );
  const truth = sequence.reduce((a, b) => a + b, 0);
  try {
    const body = await postJson("/v1/sum", { sequences: [sequence] });
    $("sum-result").textContent =
      `Model: ${body.sums[0].toFixed(3)} · true: ${truth} — ${modelLine(body.model)}`;
    $("sum-result").dataset.predicted = String(body.sums[0]);
    $("sum-result").dataset.truth = String(truth);
  } catch (error) {
    $("sum-result").textContent = "";
    showError("sum-error", error);
  }
});

// Forecast: the true series, the model's continuation, one chart.
const series = (t) => (t * Math.sin(t)) / 3 + 2 * Math.sin(5 * t);
const STEP = 0.1;

function drawChart(start, window, forecast, truth) {
  const canvas = $("forecast-chart");
  const context = canvas.getContext("2d");
  const all = [...window, ...forecast, ...truth];
  const low = Math.min(...all) - 0.5;
  const high = Math.max(...all) + 0.5;
  const count = window.length + forecast.length;
  const x = (i) => 30 + (i * (canvas.width - 40)) / (count - 1);
  const y = (v) => canvas.height - 20 - ((v - low) * (canvas.height - 30)) / (high - low);
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#4a4a4a";
  context.font = "12px system-ui";
  context.fillText(`t = ${start.toFixed(1)} … ${(start + (count - 1) * STEP).toFixed(1)}`, 30, 14);
  const line = (values, offset, color, dashed) => {
    context.strokeStyle = color;
    context.lineWidth = 2;
    context.setLineDash(dashed ? [5, 4] : []);
    context.beginPath();
    values.forEach((v, i) => (i ? context.lineTo : context.moveTo).call(context, x(offset + i), y(v)));
    context.stroke();
  };
  line(window, 0, "#0b5394", false);
  line([window[window.length - 1], ...truth], window.length - 1, "#777", true);
  line([window[window.length - 1], ...forecast], window.length - 1, "#c05000", false);
  canvas.dataset.points = String(window.length + forecast.length + truth.length);
}

$("forecast-run").addEventListener("click", async () => {
  showError("forecast-error", null);
  const start = Number($("forecast-start").value);
  const horizon = Number($("forecast-horizon").value);
  const window = Array.from({ length: 20 }, (_, i) => series(start + i * STEP));
  const truth = Array.from({ length: horizon }, (_, i) => series(start + (20 + i) * STEP));
  try {
    const body = await postJson("/v1/forecast", { series: [window], horizon });
    const forecast = body.forecasts[0];
    drawChart(start, window, forecast, truth);
    const mse = forecast.reduce((s, v, i) => s + (v - truth[i]) ** 2, 0) / horizon;
    $("forecast-result").textContent = `MSE against the true series: ${mse.toFixed(4)} — ${modelLine(body.model)}`;
  } catch (error) {
    $("forecast-result").textContent = "";
    showError("forecast-error", error);
  }
});

// Status strip: models and versions, and the gateway's request rate.
let lastCount = null;
let lastTime = null;

async function refreshStatus() {
  try {
    const body = await api("/v1/models");
    const list = $("status-models");
    list.replaceChildren();
    for (const model of body.models) {
      const item = document.createElement("li");
      const versions = model.versions.map((v) => `v${v.version} ${v.state}`).join(", ");
      item.textContent = `${model.name}: ${versions || model.error || "no versions"}`;
      list.appendChild(item);
    }
  } catch (error) {
    $("status-models").replaceChildren(
      Object.assign(document.createElement("li"), { textContent: `Status: ${error.message}` }),
    );
  }
  try {
    const text = await (await fetch("/metrics")).text();
    const count = text
      .split("\n")
      .filter((line) => line.startsWith("gateway_requests_total{"))
      .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
    const now = Date.now();
    if (lastCount !== null) {
      const rate = ((count - lastCount) * 1000) / (now - lastTime);
      $("status-rate").textContent = `Request rate: ${rate.toFixed(1)} requests/s`;
    }
    lastCount = count;
    lastTime = now;
  } catch (error) {
    $("status-rate").textContent = "Request rate: unavailable";
  }
}

clearPad();
setupPen();
renderBits();
refreshStatus();
setInterval(refreshStatus, 5000);
