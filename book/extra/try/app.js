// The page: a photo (picked, dropped or from the webcam) -> BlazeFace finds the faces -> each face
// cropped as the course crops it -> the course's model (and the reader's own, if dropped) ->
// boxes, ages, 90% intervals and gender probabilities. Everything runs here; nothing is sent.
import * as faces from "./faces.js";

const RUNTIME = "./litert/core/index.js";  // LiteRT.js, copied from npm by the book's build
const WASM = "./litert/wasm/";
// BlazeFace's short-range model (faces near the camera), then its full-range one (smaller faces)
// where the first finds none, as helpers.photos.faces does.
const DETECTORS = [
  {file: "./models/blazeface_short_range.tflite", kind: faces.SHORT_RANGE, name: "blazeface",
   crop: "box_to_haar"},
  {file: "./models/blazeface_full_range.tflite", kind: faces.FULL_RANGE,
   name: "blazeface (full range)", crop: "full_range_to_haar"},
];
const COURSE_MODEL = "./models/course-model.tflite";
const METADATA = "age_gender_course";
const FORMAT = 1;

const $ = (id) => document.getElementById(id);
const state = {runtime: null, detectors: [], models: [], photo: null};

/** A line in the status area (and the console, for tests). */
function say(text, kind = "info") {
  $("status").textContent = text;
  $("status").dataset.kind = kind;
}

/** The named metadata inside a .tflite flatbuffer (the table tf.lite's tools write), or null. */
export function tfliteMetadata(bytes, name) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(4, 8)) !== "TFL3") {
    throw new Error("this is not a TensorFlow Lite file (.tflite)");
  }
  const deref = (pos) => pos + view.getUint32(pos, true);
  const field = (table, index) => {
    const vtable = table - view.getInt32(table, true);
    const offset = 4 + 2 * index;
    if (offset >= view.getUint16(vtable, true)) return 0;
    const at = view.getUint16(vtable + offset, true);
    return at ? table + at : 0;
  };
  const vector = (pos) => {
    const start = deref(pos);
    return {length: view.getUint32(start, true), at: (i) => start + 4 + 4 * i};
  };
  const text = (pos) => {
    const start = deref(pos);
    return new TextDecoder().decode(bytes.subarray(start + 4, start + 4 + view.getUint32(start, true)));
  };
  const model = deref(0);
  const metadata = field(model, 6), buffers = field(model, 4);
  if (!metadata || !buffers) return null;
  const entries = vector(metadata), all = vector(buffers);
  for (let i = 0; i < entries.length; i++) {
    const entry = deref(entries.at(i));
    const nameAt = field(entry, 0), bufferAt = field(entry, 1);
    if (!nameAt || text(nameAt) !== name) continue;
    const buffer = deref(all.at(bufferAt ? view.getUint32(bufferAt, true) : 0));
    const dataAt = field(buffer, 0);
    if (!dataAt) return null;
    const start = deref(dataAt);
    return new TextDecoder().decode(bytes.subarray(start + 4, start + 4 + view.getUint32(start, true)));
  }
  return null;
}

/** LiteRT.js and BlazeFace, loaded on the first use. */
async function runtime() {
  if (state.runtime) return state.runtime;
  say("Loading the runtime (LiteRT, about 10 MB, once)...");
  let litert;
  try {
    litert = await import(RUNTIME);
  } catch (error) {
    throw new Error("this build of the book has no browser runtime (the build needs npm): " +
                    error.message);
  }
  await litert.loadLiteRt(WASM);
  say("Loading the face detector (BlazeFace)...");
  for (const detector of DETECTORS) {
    state.detectors.push({...detector,
      compiled: await litert.loadAndCompile(detector.file, {accelerator: "wasm"})});
  }
  state.runtime = litert;
  return litert;
}

/** A course model from its bytes, with its metadata; a clear error for a file the page can't use. */
async function loadModel(bytes, label) {
  const text = tfliteMetadata(bytes, METADATA);
  if (!text) {
    throw new Error(`${label} has no course metadata: export it with ` +
                    "deploy.export_for_page(model, config, path) in chapter 9");
  }
  const meta = JSON.parse(text);
  if (meta.format > FORMAT || meta.input.resize !== "area") {
    throw new Error(`${label} needs a newer version of this page`);
  }
  const litert = await runtime();
  let compiled;
  try {
    compiled = await litert.loadAndCompile(bytes, {accelerator: "wasm"});
  } catch (error) {
    throw new Error(`${label} does not run here: ${error.message}`);
  }
  const input = compiled.getInputDetails()[0];
  const want = [1, meta.input.size, meta.input.size, meta.input.channels];
  if (Array.from(input.shape).join() !== want.join()) {
    compiled.delete();
    throw new Error(`${label} takes input ${Array.from(input.shape)}, not one face of ` +
                    `${want.slice(1)}: export it with deploy.export_for_page`);
  }
  const outputs = compiled.getOutputDetails().map((d) => d.name);
  for (const head of ["age", "gender"]) {
    if (!outputs.includes(head)) {
      compiled.delete();
      throw new Error(`${label} has no "${head}" output (it has ${outputs.join(", ")})`);
    }
  }
  return {label, meta, compiled, inputName: input.name};
}

/** The model's heads for one input (a Float32Array of one face). */
async function heads(model, pixels) {
  const {Tensor} = state.runtime;
  const {size, channels} = model.meta.input;
  const input = new Tensor(pixels, [1, size, size, channels]);
  const results = await model.compiled.run({[model.inputName]: input});
  input.delete();
  const out = {};
  for (const [name, tensor] of Object.entries(results)) {
    out[name] = tensor.toTypedArray()[0];
    tensor.delete();
  }
  return out;
}

/** One BlazeFace model's faces on the (shrunk) photo, wider than `smallest` pixels. */
async function blazeFaces(detector, small, settings, smallest) {
  const {Tensor} = state.runtime;
  const {size} = detector.kind;
  const placed = faces.blazeInput(small, size);
  const input = new Tensor(placed.input, [1, size, size, 3]);
  const results = await detector.compiled.run([input]);
  input.delete();
  const arrays = results.map((t) => t.toTypedArray());
  results.forEach((t) => t.delete());
  const [logits, regressors] = arrays.sort((a, b) => a.length - b.length);
  return faces.decodeFaces(regressors, logits, placed, settings, detector.kind)
    .filter((f) => f.box[2] >= smallest);
}

/** The faces on the photo, each box where the Haar cascade would put it, the subject first,
 * and the detector that found them. */
async function findFaces(rgb, settings) {
  const {rgb: small, scale} = faces.searchImage(rgb, settings.max_side);
  const smallest = Math.max(settings.min_pixels,
                            Math.floor(settings.min_face * Math.min(small.width, small.height)));
  for (const detector of state.detectors) {
    const found = await blazeFaces(detector, small, settings, smallest);
    if (!found.length) continue;
    const boxes = found.map((f) => faces.asHaarBox(f.box, settings[detector.crop], settings.haar_crop)
      .map((v) => faces.roundHalfEven(v / scale)));
    return {boxes: faces.subjectFirst(boxes, rgb.width, rgb.height, settings.nearly_as_large),
            detector: detector.name};
  }
  return {boxes: [], detector: "none"};
}

/** Every face's answers from one model, as `course predict --detect --json` gives them. */
async function predict(model, rgb, boxes) {
  const found = [];
  const {size, channels} = model.meta.input;
  for (const box of boxes) {
    const crop = faces.cropFace(rgb, box, model.meta.detector.haar_crop);
    const views = [await heads(model, faces.modelInput(crop, size, channels))];
    if (model.meta.mirror) views.push(await heads(model, faces.modelInput(crop, size, channels, true)));
    const mean = {};
    for (const key of Object.keys(views[0])) {
      mean[key] = views.reduce((sum, v) => sum + v[key], 0) / views.length;
    }
    found.push({box, ...faces.answer(mean, model.meta), crop: "box"});
  }
  return found;
}

/** The photo's pixels as RGB, upright as the camera meant (EXIF), no colour management. */
async function pixelsOf(source) {
  const bitmap = await createImageBitmap(source, {imageOrientation: "from-image",
    colorSpaceConversion: "none", premultiplyAlpha: "none"});
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", {willReadFrequently: true});
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
  }
  return {rgb: faces.image(bitmap.width, bitmap.height, 3, rgb), bitmap};
}

const COLOURS = ["#e4572e", "#17bebb", "#ffc914", "#76b041", "#a259ff"];

/** The photo with each face's box and number. */
function draw(bitmap, boxes) {
  const canvas = $("photo");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const line = Math.max(2, Math.round(bitmap.width / 250));
  context.lineWidth = line;
  context.font = `bold ${8 * line}px sans-serif`;
  boxes.forEach(([x, y, w, h], i) => {
    context.strokeStyle = context.fillStyle = COLOURS[i % COLOURS.length];
    context.strokeRect(x, y, w, h);
    context.fillText(String(i + 1), x + line, y - 2 * line > 8 * line ? y - 2 * line : y + 9 * line);
  });
}

/** The answers as a table: one row per face, one column group per model. */
function show(answers, detector) {
  const table = $("answers");
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const text of ["face", ...answers.map((a) => a.model.label)]) {
    const th = document.createElement("th");
    th.textContent = text;
    head.append(th);
  }
  const body = table.createTBody();
  answers[0].faces.forEach((_, i) => {
    const row = body.insertRow();
    row.insertCell().textContent = String(i + 1);
    for (const {faces: found} of answers) {
      const f = found[i];
      const interval = f.age_interval ? ` (90%: ${f.age_interval[0]} to ${f.age_interval[1]})` : "";
      row.insertCell().textContent =
        `age ${f.age}${interval}; ${f.gender}, probability ${f.gender_probability.toFixed(2)}`;
    }
  });
  const json = answers.map(({model, faces: found}) => ({model: model.label, detector,
    faces: found}));
  $("json").textContent = JSON.stringify(json, null, 1);
}

/** Find, crop and predict on one photo (a File, Blob or video frame) with every loaded model. */
async function analyse(source) {
  try {
    await runtime();
    if (!state.models.length) await loadCourseModel();
    say("Looking for faces...");
    const {rgb, bitmap} = await pixelsOf(source);
    state.photo = source;
    const {boxes, detector} = await findFaces(rgb, state.models[0].meta.detector);
    draw(bitmap, boxes);
    if (!boxes.length) {
      $("answers").replaceChildren();
      $("json").textContent = "[]";
      say("BlazeFace found no face in this photo: try one where the face is larger, upright " +
          "and lit. (`course predict --detect` would go on to OpenCV's Haar cascades and " +
          "dlib's HOG detector, which this page does not have.)");
      document.body.dataset.done = "none";
      return;
    }
    const answers = [];
    for (const model of state.models) answers.push({model, faces: await predict(model, rgb, boxes)});
    show(answers, detector);
    say(`${boxes.length} face${boxes.length > 1 ? "s" : ""} found; the first is the photo's subject.`);
    document.body.dataset.done = "faces";
  } catch (error) {
    say(error.message, "error");
    document.body.dataset.done = "error";
  }
}

/** The course's model that this build of the book exported. */
async function loadCourseModel() {
  say("Loading the course's model...");
  const response = await fetch(COURSE_MODEL);
  if (!response.ok) {
    throw new Error("this build of the book has no course model (its chapters were not run): " +
                    "drop a model exported by chapter 9 on the page instead");
  }
  const model = await loadModel(new Uint8Array(await response.arrayBuffer()), "course model");
  state.models.unshift(model);
  describe();
}

/** What each loaded model is and what it learnt from. */
function describe() {
  const list = $("models");
  list.replaceChildren();
  for (const {label, meta} of state.models) {
    const item = document.createElement("li");
    item.textContent = `${label}: ${meta.model} (${meta.description}), trained on ${meta.trained_on}` +
      (meta.data_source === "utkface" ? "." :
        ". It has never seen a real face: its answers mean nothing, only the plumbing is real.");
    if (meta.run) {
      const code = document.createElement("code");
      code.textContent = `course predict --detect --json --model runs/${meta.run}/model.keras PHOTO`;
      item.append(" The same model in Python, from the folder where the chapters ran: ", code);
    }
    list.append(item);
  }
}

/** The reader's own model, dropped or picked: loaded beside the course's. */
async function addOwnModel(file) {
  try {
    await runtime();
    if (!state.models.length) {
      try { await loadCourseModel(); } catch (error) { /* the reader's model alone */ }
    }
    const model = await loadModel(new Uint8Array(await file.arrayBuffer()), `your model (${file.name})`);
    state.models = state.models.filter((m) => !m.label.startsWith("your model"));
    state.models.push(model);
    describe();
    say(`Loaded ${file.name}.` + (state.photo ? "" : " Now choose a photo."));
    if (state.photo) await analyse(state.photo);
    else document.body.dataset.done = "model";
  } catch (error) {
    say(error.message, "error");
    document.body.dataset.done = "error";
  }
}

/** A frame of the webcam, once the reader asks for it; the stream stops after the photo. */
async function webcam() {
  const video = $("camera");
  if (!video.srcObject) {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({video: true});
    } catch (error) {
      say(`No webcam: ${error.message}`, "error");
      return;
    }
    video.hidden = false;
    $("webcam").textContent = "Take the photo";
    return;
  }
  const frame = await createImageBitmap(video);
  video.srcObject.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  video.hidden = true;
  $("webcam").textContent = "Use the webcam";
  const canvas = document.createElement("canvas");
  canvas.width = frame.width;
  canvas.height = frame.height;
  canvas.getContext("2d").drawImage(frame, 0, 0);
  canvas.toBlob((blob) => analyse(blob), "image/png");
}

/** Dropped files: a model (.tflite) first, then the first photo among them. */
async function dropped(event) {
  event.preventDefault();
  const files = [...event.dataTransfer.files];
  const model = files.find((f) => f.name.endsWith(".tflite"));
  const photo = files.find((f) => !f.name.endsWith(".tflite"));
  if (model) await addOwnModel(model);
  if (photo) await analyse(photo);
}

$("picture").addEventListener("change", (e) => e.target.files[0] && analyse(e.target.files[0]));
$("own-model").addEventListener("change", (e) => e.target.files[0] && addOwnModel(e.target.files[0]));
$("webcam").addEventListener("click", webcam);
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", dropped);
if (window.top !== window) document.body.dataset.framed = "1";  // inside the book's page
document.body.dataset.ready = "1";
