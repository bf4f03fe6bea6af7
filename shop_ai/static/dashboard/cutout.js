// The job page's cut-out correction: drag a rectangle around the product, or draw keep/remove
// strokes over the photo. Coordinates are sent in the photo's own pixels.
(function () {
  const photo = document.querySelector('[data-role="mark-photo"]');
  const canvas = document.querySelector('[data-role="mark-canvas"]');
  const form = document.querySelector('[data-role="cutout-form"]');
  if (!photo || !canvas || !form) return;
  const marks = {rectangle: null, keep: [], remove: []};
  let current = null;

  const tool = () => form.ownerDocument.querySelector('input[name="mark-tool"]:checked').value;
  const scale = () => photo.naturalWidth / photo.clientWidth;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * scale(), (event.clientY - box.top) * scale()];
  };

  function fit() {
    canvas.width = photo.clientWidth;
    canvas.height = photo.clientHeight;
    draw();
  }

  function line(stroke, colour, context, ratio) {
    context.strokeStyle = colour;
    context.lineWidth = 6;
    context.beginPath();
    stroke.forEach(([x, y], index) => (index ? context.lineTo : context.moveTo).call(context, x / ratio, y / ratio));
    context.stroke();
  }

  function draw() {
    const context = canvas.getContext('2d');
    const ratio = scale();
    context.clearRect(0, 0, canvas.width, canvas.height);
    if (marks.rectangle) {
      const [x0, y0, x1, y1] = marks.rectangle.map((value) => value / ratio);
      context.strokeStyle = '#1b6ef3';
      context.lineWidth = 3;
      context.strokeRect(x0, y0, x1 - x0, y1 - y0);
    }
    marks.keep.forEach((stroke) => line(stroke, 'rgba(20, 160, 60, 0.8)', context, ratio));
    marks.remove.forEach((stroke) => line(stroke, 'rgba(210, 40, 40, 0.8)', context, ratio));
  }

  function store() {
    form.querySelector('input[name="rectangle"]').value = marks.rectangle ? JSON.stringify(marks.rectangle) : '';
    form.querySelector('input[name="keep"]').value = marks.keep.length ? JSON.stringify(marks.keep) : '';
    form.querySelector('input[name="remove"]').value = marks.remove.length ? JSON.stringify(marks.remove) : '';
  }

  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    current = {tool: tool(), start: point(event), stroke: [point(event)]};
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!current) return;
    const [x, y] = point(event);
    if (current.tool === 'rectangle') {
      const [sx, sy] = current.start;
      marks.rectangle = [Math.min(sx, x), Math.min(sy, y), Math.max(sx, x), Math.max(sy, y)].map(Math.round);
    } else {
      current.stroke.push([Math.round(x), Math.round(y)]);
      marks[current.tool] = marks[current.tool].filter((stroke) => stroke !== current.stroke).concat([current.stroke]);
    }
    draw();
  });
  canvas.addEventListener('pointerup', () => { current = null; store(); });
  document.querySelector('[data-role="mark-clear"]').addEventListener('click', () => {
    marks.rectangle = null; marks.keep = []; marks.remove = [];
    store(); draw();
  });
  if (photo.complete) fit(); else photo.addEventListener('load', fit);
  window.addEventListener('resize', fit);
})();
