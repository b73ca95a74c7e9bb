/* The dashboard's filter bar: range presets, and a URL that keeps only the chosen filters. */
(function () {
  "use strict";

  var form = document.getElementById("filters");
  if (!form) { return; }
  var preset = form.querySelector("[data-preset]");
  var start = form.querySelector("[name=start]");
  var end = form.querySelector("[name=end]");
  if (preset) {
    preset.addEventListener("change", function () {
      var option = preset.options[preset.selectedIndex];
      if (preset.value === "custom") { start.focus(); return; }
      start.value = option.getAttribute("data-start");
      end.value = option.getAttribute("data-end");
    });
  }
  [start, end].forEach(function (input) {
    input.addEventListener("change", function () {
      if (preset) { preset.value = "custom"; }
    });
  });
  // The workflow list shows the chosen product's workflows only; a workflow of another
  // product would match nothing.
  var product = form.querySelector("[name=product]");
  var workflow = form.querySelector("[name=workflow]");
  function narrowWorkflows() {
    if (!product || !workflow) { return; }
    Array.prototype.forEach.call(workflow.options, function (option) {
      var owner = option.getAttribute("data-product");
      var foreign = Boolean(product.value && owner && owner !== product.value);
      option.hidden = foreign;
      option.disabled = foreign;
      if (foreign && option.selected) { workflow.value = ""; }
    });
  }
  if (product) { product.addEventListener("change", narrowWorkflows); }
  // Nothing reloads until Apply: arrowing through a select with the keyboard must not
  // fetch a new page at every step.
  // Leave empty fields out of the URL so shared links stay short.
  form.addEventListener("formdata", function (event) {
    var empty = [];
    event.formData.forEach(function (value, key) { if (value === "") { empty.push(key); } });
    empty.forEach(function (key) {
      var kept = event.formData.getAll(key).filter(function (v) { return v !== ""; });
      event.formData.delete(key);
      kept.forEach(function (v) { event.formData.append(key, v); });
    });
  });
})();
