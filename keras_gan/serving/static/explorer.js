// The keras-gan sample explorer: plain JavaScript over the server's REST API
// (TF Serving's status, metadata and :predict), no external resources.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { model: null, version: null, meta: {}, signatures: [] };

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let json = null;
  try {
    json = await response.json();
  } catch (e) {
    throw new Error(`${path}: HTTP ${response.status} (not JSON)`);
  }
  if (!response.ok) {
    throw new Error(json && json.error ? json.error : `${path}: HTTP ${response.status}`);
  }
  return json;
}

function modelPath() {
  return `/v1/models/${encodeURIComponent(state.model)}/versions/${state.version}`;
}

function fill(select, values, labels) {
  select.replaceChildren(...values.map((v, i) => {
    const option = document.createElement("option");
    option.value = String(v);
    option.textContent = labels ? labels[i] : String(v);
    return option;
  }));
}

async function loadModels() {
  const models = (await api("/v1/models")).models.map((m) => m.name);
  if (!models.length) {
    setStatus("This server serves no model.", true);
    return;
  }
  fill($("model"), models);
  await selectModel();
}

async function selectModel() {
  state.model = $("model").value;
  const status = await api(`/v1/models/${encodeURIComponent(state.model)}`);
  const versions = status.model_version_status
    .filter((s) => s.state === "AVAILABLE")
    .map((s) => Number(s.version))
    .sort((a, b) => b - a);
  if (!versions.length) {
    setStatus(`Model ${state.model} has no available version yet.`, true);
    return;
  }
  fill($("version"), versions);
  await selectVersion();
}

async function selectVersion() {
  state.version = Number($("version").value);
  const body = await api(`${modelPath()}/metadata`);
  state.meta = body.metadata.keras_gan || {};
  state.signatures = Object.keys(body.metadata.signature_def.signature_def || {});
  const meta = state.meta;
  const classes = Number.isInteger(meta.num_classes) ? meta.num_classes : 0;
  $("class-label").hidden = classes === 0;
  if (classes) {
    fill($("class"), ["all", ...Array.from({ length: classes }, (_, i) => i)],
      ["each in turn", ...Array.from({ length: classes }, (_, i) => String(i))]);
  }
  const parts = [`latent ${meta.latent_dim}`, `output ${JSON.stringify(meta.output_shape)}`];
  if (classes) parts.push(`${classes} classes`);
  if (meta.vocabulary) parts.push(`vocabulary of ${meta.vocabulary.length}`);
  if (state.signatures.includes("sample_png")) parts.push("PNG");
  $("model-info").textContent = parts.join(", ");
  setStatus("");
  document.body.dataset.model = `${state.model}/${state.version}`;
}

function labelsFor(n) {
  if ($("class-label").hidden) return null;
  const value = $("class").value;
  const classes = state.meta.num_classes;
  return Array.from({ length: n }, (_, i) => (value === "all" ? i % classes : Number(value)));
}

function withLabels(inputs, n) {
  const labels = labelsFor(n);
  if (labels) inputs.labels = labels;
  return inputs;
}

// ---------------------------------------------------------------- drawing
function pngImages(outputs) {
  const list = Array.isArray(outputs) ? outputs : outputs.images_bytes;
  return list.map((item, i) => {
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${item.b64}`;
    img.alt = `sample ${i}`;
    return img;
  });
}

function floatCanvases(images) {
  const [low, high] = state.meta.value_range || [0, 1];
  const scale = 255 / (high - low);
  if (!Array.isArray(images[0]) || !Array.isArray(images[0][0])) {
    return [scatter(images)];
  }
  return images.map((image) => {
    const h = image.length;
    const w = image[0].length;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d");
    const pixels = ctx.createImageData(w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = image[y][x];
        const c = Array.isArray(v) ? v : [v];
        const rgb = c.length >= 3 ? c.slice(0, 3) : [c[0], c[0], c[0]];
        const k = 4 * (y * w + x);
        for (let j = 0; j < 3; j++) {
          pixels.data[k + j] = Math.max(0, Math.min(255, Math.round((rgb[j] - low) * scale)));
        }
        pixels.data[k + 3] = 255;
      }
    }
    ctx.putImageData(pixels, 0, 0);
    return canvas;
  });
}

function scatter(points) {
  // Samples that are not images (e.g. 2-D points): one scatter plot.
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 256;
  canvas.style.width = canvas.style.height = "256px";
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 256, 256);
  const flat = points.map((p) => (Array.isArray(p) ? p.flat(Infinity) : [p, 0]));
  const xs = flat.map((p) => p[0]);
  const ys = flat.map((p) => (p.length > 1 ? p[1] : 0));
  const box = (v) => [Math.min(...v), Math.max(...v) + 1e-9];
  const [x0, x1] = box(xs);
  const [y0, y1] = box(ys);
  ctx.fillStyle = "#d33";
  flat.forEach((_, i) => {
    ctx.fillRect(8 + ((xs[i] - x0) / (x1 - x0)) * 236, 8 + ((y1 - ys[i]) / (y1 - y0)) * 236, 4, 4);
  });
  return canvas;
}

function decode(tokenIds) {
  const vocabulary = state.meta.vocabulary;
  const pad = vocabulary[0];
  return tokenIds.map((row) => row.map((i) => vocabulary[i]).join("").replace(new RegExp(`(${escapeRegExp(pad)})+$`), ""));
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function argmaxRows(distributions) {
  return distributions.map((row) => row.map((p) => p.indexOf(Math.max(...p))));
}

function show(gridId, textId, elements, lines) {
  $(gridId).replaceChildren(...(elements || []));
  const text = $(textId);
  text.hidden = !lines;
  text.textContent = lines ? lines.join("\n") : "";
}

// ---------------------------------------------------------------- actions
async function generate() {
  const n = Number($("num-samples").value);
  const seed = Number($("seed").value);
  if (!Number.isInteger(n) || n < 1) throw new Error("The number of samples must be an integer >= 1.");
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error("The seed must be an integer >= 0.");
  const inputs = withLabels({ num_samples: n, seed: seed }, n);
  const start = performance.now();
  if (state.meta.vocabulary) {
    const { outputs } = await api(`${modelPath()}:predict`, { signature_name: "sample", inputs });
    show("grid", "text", [], decode(outputs.token_ids));
  } else if (state.signatures.includes("sample_png")) {
    const { outputs } = await api(`${modelPath()}:predict`, { signature_name: "sample_png", inputs });
    show("grid", "text", pngImages(outputs), null);
  } else {
    const { outputs } = await api(`${modelPath()}:predict`, { signature_name: "sample", inputs });
    show("grid", "text", floatCanvases(Array.isArray(outputs) ? outputs : outputs.images), null);
  }
  const ms = Math.round(performance.now() - start);
  setStatus(`${n} samples of ${state.model} version ${state.version}, seed ${seed} (${ms} ms).`);
}

async function latent(seed) {
  const query = new URLSearchParams({ model: state.model, version: state.version, seed, n: 1 });
  return (await api(`/explorer/latent?${query}`)).z[0];
}

async function interpolate() {
  const a = Number($("seed-a").value);
  const b = Number($("seed-b").value);
  const steps = Number($("steps").value);
  if (!Number.isInteger(steps) || steps < 2) throw new Error("Steps must be an integer >= 2.");
  const [za, zb] = await Promise.all([latent(a), latent(b)]);
  const z = Array.from({ length: steps }, (_, i) => {
    const t = i / (steps - 1);
    return za.map((v, j) => (1 - t) * v + t * zb[j]);
  });
  const labels = labelsFor(1);
  const inputs = { z };
  if (labels) inputs.labels = Array(steps).fill(labels[0]);
  const { outputs } = await api(`${modelPath()}:predict`, { signature_name: "serving_default", inputs });
  const images = Array.isArray(outputs) ? outputs : outputs.images;
  if (state.meta.vocabulary) {
    show("interpolation", "interpolation-text", [], decode(argmaxRows(images)));
  } else {
    show("interpolation", "interpolation-text", floatCanvases(images), null);
  }
  $("step").max = String(steps - 1);
  $("step").value = "0";
  showStep();
  setStatus(`Interpolated seed ${a} -> ${b} in ${steps} steps.`);
}

function showStep() {
  const k = Number($("step").value);
  const frames = $("interpolation").children;
  Array.from(frames).forEach((frame, i) => frame.classList.toggle("current", i === k));
  const steps = Number($("step").max) + 1;
  $("step-label").textContent = frames.length ? `step ${k + 1} of ${steps}` : "";
}

function guarded(action) {
  return async () => {
    try {
      await action();
    } catch (e) {
      setStatus(e.message, true);
    }
  };
}

$("model").addEventListener("change", guarded(selectModel));
$("version").addEventListener("change", guarded(selectVersion));
$("generate").addEventListener("click", guarded(generate));
$("interpolate").addEventListener("click", guarded(interpolate));
$("step").addEventListener("input", showStep);
$("random-seed").addEventListener("click", guarded(async () => {
  $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
  await generate();
}));
guarded(async () => {
  await loadModels();
  document.body.dataset.ready = "true";
})();
