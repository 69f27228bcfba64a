// Faces in a photo, as the course's Python finds and frames them (helpers.photos.faces and
// helpers.photos.blazeface): BlazeFace's anchors and weighted non-maximum suppression, the box
// moved to where the Haar cascade would put it, the photo's subject first, UTKFace's crop framing,
// and the area resampling of OpenCV and TensorFlow. Pure functions on RGB pixel arrays, no DOM.

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** An image: {width, height, channels, data} with data a Uint8Array or Float32Array, row-major. */
export function image(width, height, channels, data) {
  return {width, height, channels, data};
}

/** One axis of an area (box-filter) resampling: for each output cell, the source indices and
 * weights, as OpenCV's INTER_AREA computes them (the weights of a cell add up to 1). */
function areaTable(inSize, outSize, scale) {
  const table = [];
  for (let d = 0; d < outSize; d++) {
    const f1 = d * scale, f2 = f1 + scale;
    const cell = Math.min(scale, inSize - f1);
    let s2 = Math.min(Math.floor(f2), inSize - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    const taps = [];
    if (s1 - f1 > 1e-3) taps.push([s1 - 1, (s1 - f1) / cell]);
    for (let s = s1; s < s2; s++) taps.push([s, 1 / cell]);
    if (f2 - s2 > 1e-3) taps.push([s2, Math.min(Math.min(f2 - s2, 1), cell) / cell]);
    if (!taps.length) taps.push([Math.min(s1, inSize - 1), 1]);
    table.push(taps);
  }
  return table;
}

/** Area resampling to outWidth x outHeight (each output pixel averages the input pixels it
 * covers, weighted by how much of each it covers): cv2.INTER_AREA and tf.image.resize's "area".
 * `scaleX`/`scaleY` default to in/out (OpenCV's fx-given resize passes 1/fx). Float output. */
export function areaResize(src, outWidth, outHeight, scaleX, scaleY) {
  const {width, height, channels: c, data} = src;
  const xs = areaTable(width, outWidth, scaleX ?? width / outWidth);
  const ys = areaTable(height, outHeight, scaleY ?? height / outHeight);
  const rows = new Float64Array(width * outHeight * c);  // first down the columns
  for (let y = 0; y < outHeight; y++) {
    for (const [sy, wy] of ys[y]) {
      const from = sy * width * c, to = y * width * c;
      for (let i = 0; i < width * c; i++) rows[to + i] += wy * data[from + i];
    }
  }
  const out = new Float32Array(outWidth * outHeight * c);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      for (const [sx, wx] of xs[x]) {
        const from = (y * width + sx) * c, to = (y * outWidth + x) * c;
        for (let k = 0; k < c; k++) out[to + k] += wx * rows[from + k];
      }
    }
  }
  return image(outWidth, outHeight, c, out);
}

/** Pixel values rounded as OpenCV and tf.round store them (halves to even), 0 to 255. */
export function rounded(img) {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.max(0, Math.min(255, roundHalfEven(img.data[i])));
  }
  return image(img.width, img.height, img.channels, out);
}

/** BlazeFace's anchor centres (x, y as fractions of the input side), in the network's order. */
export function anchors(size, strides) {
  const centres = [];
  let i = 0;
  while (i < strides.length) {
    const stride = strides[i];
    let repeat = 0;
    while (i < strides.length && strides[i] === stride) { repeat++; i++; }
    const perCell = strides.length === 1 ? 1 : 2 * repeat;
    const grid = Math.floor(size / stride);
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let k = 0; k < perCell; k++) centres.push([(x + 0.5) / grid, (y + 0.5) / grid]);
      }
    }
  }
  return centres;
}

export const SHORT_RANGE = {size: 128, strides: [8, 16, 16, 16]};
export const FULL_RANGE = {size: 192, strides: [4]};

/** The photo padded to a centred black square and squeezed to BlazeFace's input, -1 to 1. */
export function blazeInput(rgb, size) {
  const side = Math.max(rgb.width, rgb.height);
  const top = Math.floor((side - rgb.height) / 2), left = Math.floor((side - rgb.width) / 2);
  const square = new Uint8Array(side * side * 3);
  for (let y = 0; y < rgb.height; y++) {
    square.set(rgb.data.subarray(y * rgb.width * 3, (y + 1) * rgb.width * 3),
               ((y + top) * side + left) * 3);
  }
  const pixels = rounded(areaResize(image(side, side, 3, square), size, size));
  const input = new Float32Array(pixels.data.length);
  for (let i = 0; i < input.length; i++) input[i] = pixels.data[i] / 127.5 - 1;
  return {input, side, top, left};
}

/** Weighted non-maximum suppression (blazeface.merge): from the best-scored box down, every box
 * overlapping it by more than `overlap` (IoU) is averaged into it, weighted by score. */
export function merge(boxes, points, scores, overlap) {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
  const used = new Array(scores.length).fill(false), merged = [];
  for (const i of order) {
    if (used[i]) continue;
    const group = [];
    const [xi, yi, wi, hi] = boxes[i];
    for (let j = 0; j < scores.length; j++) {
      if (used[j] && j !== i) continue;
      const [xj, yj, wj, hj] = boxes[j];
      const w = Math.min(xi + wi, xj + wj) - Math.max(xi, xj);
      const h = Math.min(yi + hi, yj + hj) - Math.max(yi, yj);
      const inter = Math.max(w, 0) * Math.max(h, 0);
      if (j === i || inter / (wi * hi + wj * hj - inter) > overlap) group.push(j);
    }
    let total = 0;
    for (const j of group) { used[j] = true; total += scores[j]; }
    const box = [0, 0, 0, 0], keypoints = points[i].map(() => [0, 0]);
    for (const j of group) {
      const w = scores[j] / total;
      for (let k = 0; k < 4; k++) box[k] += w * boxes[j][k];
      points[j].forEach((p, k) => { keypoints[k][0] += w * p[0]; keypoints[k][1] += w * p[1]; });
    }
    merged.push({box, keypoints, score: scores[i]});
  }
  return merged;
}

/** BlazeFace's faces from its raw outputs (regressors: 896 x 16, logits: 896), in the photo's
 * pixels: the same decoding as helpers.photos.blazeface.BlazeFace. */
export function decodeFaces(regressors, logits, placed, settings, kind = SHORT_RANGE) {
  const {size} = kind, centres = anchors(size, kind.strides);
  if (logits.length !== centres.length || regressors.length !== 16 * centres.length) {
    throw new Error(`the detector gave ${logits.length} scores for ${centres.length} anchors`);
  }
  const boxes = [], points = [], scores = [];
  for (let a = 0; a < centres.length; a++) {
    const score = 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, logits[a]))));
    if (score < settings.threshold) continue;
    const r = regressors.subarray(a * 16, a * 16 + 16), [ax, ay] = centres[a];
    const cx = r[0] / size + ax, cy = r[1] / size + ay, w = r[2] / size, h = r[3] / size;
    boxes.push([(cx - w / 2) * placed.side - placed.left, (cy - h / 2) * placed.side - placed.top,
                w * placed.side, h * placed.side]);
    const kp = [];
    for (let k = 0; k < 6; k++) {
      kp.push([(r[4 + 2 * k] / size + ax) * placed.side - placed.left,
               (r[5 + 2 * k] / size + ay) * placed.side - placed.top]);
    }
    points.push(kp);
    scores.push(score);
  }
  return merge(boxes, points, scores, settings.overlap);
}

/** A BlazeFace box moved and resized to where the Haar cascade would put it (faces.as_haar_box). */
export function asHaarBox([x, y, w, h], crop, haarCrop) {
  const size = w * crop.scale / haarCrop.scale;
  const cx = x + w / 2;
  const cy = y + h / 2 + crop.shift_down * w - haarCrop.shift_down * size;
  return [cx - size / 2, cy - size / 2, size, size];
}

/** Boxes largest first, except that a face nearly as large and nearer the centre comes first. */
export function subjectFirst(boxes, width, height, nearlyAsLarge) {
  const sorted = [...boxes].sort((a, b) => b[2] * b[3] - a[2] * a[3]);
  if (sorted.length < 2) return sorted;
  const offCentre = (b) => Math.hypot(b[0] + b[2] / 2 - width / 2, b[1] + b[3] / 2 - height / 2);
  const largest = sorted[0][2] * sorted[0][3];
  let subject = sorted[0];
  for (const b of sorted) {
    if (b[2] * b[3] >= nearlyAsLarge * largest && offCentre(b) < offCentre(subject)) subject = b;
  }
  return [subject, ...sorted.filter((b) => b !== subject)];
}

/** The photo shrunk so that its longer side is at most maxSide (as faces.detect_faces does
 * before it looks), and the factor. */
export function searchImage(rgb, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(rgb.width, rgb.height));
  if (scale >= 1) return {rgb, scale};
  const w = roundHalfEven(rgb.width * scale), h = roundHalfEven(rgb.height * scale);
  return {rgb: rounded(areaResize(rgb, w, h, 1 / scale, 1 / scale)), scale};
}

/** A square crop framed like UTKFace's around a box (faces.crop_face): edges repeat outside. */
export function cropFace(rgb, [x, y, w, h], framing) {
  const size = Math.max(w, h);
  const side = Math.max(1, roundHalfEven(size * framing.scale));
  const cx = x + w / 2, cy = y + h / 2 + framing.shift_down * size;
  const left = roundHalfEven(cx - side / 2), top = roundHalfEven(cy - side / 2);
  const out = new Uint8Array(side * side * 3);
  for (let r = 0; r < side; r++) {
    const sy = Math.min(Math.max(top + r, 0), rgb.height - 1);
    for (let c = 0; c < side; c++) {
      const sx = Math.min(Math.max(left + c, 0), rgb.width - 1);
      const from = (sy * rgb.width + sx) * 3, to = (r * side + c) * 3;
      out[to] = rgb.data[from]; out[to + 1] = rgb.data[from + 1]; out[to + 2] = rgb.data[from + 2];
    }
  }
  return image(side, side, 3, out);
}

/** A crop as the model's input (faces.prepare_crop): grey when the model has one channel
 * (tf.image.rgb_to_grayscale), area-resized to its size, rounded; float values 0 to 255. */
export function modelInput(crop, size, channels, mirror = false) {
  let pixels = crop;
  if (channels === 1) {
    const grey = new Uint8Array(crop.width * crop.height);
    for (let i = 0; i < grey.length; i++) {
      const d = crop.data;
      const f = 0.2989 * d[3 * i] / 255 + 0.587 * d[3 * i + 1] / 255 + 0.114 * d[3 * i + 2] / 255;
      grey[i] = Math.min(255, Math.floor(f * 255.5));
    }
    pixels = image(crop.width, crop.height, 1, grey);
  }
  const resized = rounded(areaResize(pixels, size, size));
  const out = new Float32Array(resized.data.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = mirror ? size - 1 - x : x;
      for (let k = 0; k < channels; k++) {
        out[(y * size + x) * channels + k] = resized.data[(y * size + sx) * channels + k];
      }
    }
  }
  return out;
}

/** The 90% interval's scale for a predicted age: its band's, else that of all faces. */
export function intervalScale(interval, bands, age) {
  let label = null;
  for (let i = 0; i < bands.starts.length; i++) if (age >= bands.starts[i]) label = bands.labels[i];
  return interval.q[label] ?? interval.q.all;
}

/** One face's answers as `course predict --json` writes them, from the heads' outputs. */
export function answer(heads, meta) {
  const age = heads.age, pFemale = heads.gender, female = pFemale >= 0.5;
  const face = {gender: meta.genders[female ? 1 : 0],
                gender_probability: Math.round((female ? pFemale : 1 - pFemale) * 1e4) / 1e4,
                age: Math.round(age * 10) / 10};
  if (meta.interval) {
    const q = intervalScale(meta.interval, meta.age_bands, age);
    const spread = heads.age_sd ?? 1;
    face.age_interval = [Math.round(Math.max(age - q * spread, 0) * 10) / 10,
                         Math.round((age + q * spread) * 10) / 10];
  }
  return face;
}
