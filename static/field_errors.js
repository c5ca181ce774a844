/**
 * Where the page shows an error: next to the field it names, or under the prompt when it names none.
 * Each error is shown in one place only.
 *
 * @module
 */

/**
 * Clears the error element of a field (or the one given) and its inputs' `aria-invalid`.
 *
 * @param {Element} scope an error element, or a field wrapper holding one
 */
export function clearFieldError(scope) {
  const error = scope.matches(".field-error") ? scope : scope.querySelector(".field-error");
  if (error) error.textContent = "";
  scope.closest(".field")?.querySelectorAll("[aria-invalid]").forEach((el) =>
    el.removeAttribute("aria-invalid")
  );
}

/** The error elements of a form and how to find the one for a request field. */
export class FieldErrors {
  /**
   * @param {{
   *   form: HTMLFormElement,
   *   general: HTMLElement,
   *   inputs: Record<string, HTMLElement>,
   *   slotError: (slot: "a" | "b", field: string) => HTMLElement | null,
   * }} options `general` takes errors without a field; `inputs` are the inputs of the fields outside the
   *   slots, by request field; `slotError` finds a slot's error element for a guidance/CFG/APG field
   */
  constructor({ form, general, inputs, slotError }) {
    this.form = form;
    this.general = general;
    this.inputs = inputs;
    this.slotError = slotError;
  }

  /** Clears every error message and `aria-invalid` mark. */
  clear() {
    for (const el of this.form.querySelectorAll(".field-error")) el.textContent = "";
    for (const el of this.form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  /**
   * The element that shows errors for a request field, if the form has one.
   *
   * @param {string} field e.g. `steps` or `guidance.scale`
   * @param {"a" | "b"} slot the slot of the job it is about
   * @returns {HTMLElement | null}
   */
  target(field, slot) {
    if (field.startsWith("guidance") || field === "cfg" || field.startsWith("apg")) {
      return this.slotError(slot, field) ?? this.slotError(slot, "guidance");
    }
    // A nested field such as `previews.size` falls back to its parent's slot, when there is one.
    return this.form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ??
      this.form.querySelector(`[data-error-for="${CSS.escape(field.split(".")[0])}"]`);
  }

  /**
   * Shows a message next to the field it names, or under the prompt.
   *
   * @param {string} message
   * @param {string | undefined} field
   * @param {"a" | "b"} [slot]
   * @param {{ fallback?: boolean }} [options] `fallback: false` shows nothing for a field without a place
   * @returns {boolean} whether it was shown next to a field
   */
  show(message, field, slot = "a", { fallback = true } = {}) {
    /** @type {HTMLElement | null} */
    let target = field ? this.target(field, slot) : null;
    const placed = target !== null;
    if (!target && !fallback) return false;
    target ??= this.general;
    target.textContent = message;
    const input = this.inputs[/** @type {string} */ (field)] ??
      target.closest(".field")?.querySelector("input:not([type=range]), select, textarea");
    if (placed) input?.setAttribute("aria-invalid", "true");
    if (placed && input && document.activeElement === document.body) input.focus({ preventScroll: true });
    return placed;
  }
}
