/**
 * Small DOM helpers the page's modules share: lookups, templates, segmented radio groups and formatting.
 *
 * @module
 */

/**
 * The first element matching a selector.
 *
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {any}
 */
export const $ = (selector, root = document) => root.querySelector(selector);

/**
 * A fresh copy of a `<template>`'s first element.
 *
 * @param {string} id the template's id
 * @returns {any}
 */
export function cloneTemplate(id) {
  return /** @type {HTMLTemplateElement} */ ($(`#${id}`)).content.firstElementChild.cloneNode(true);
}

/**
 * Fills a `role="radiogroup"` element with one segmented button per option.
 *
 * @param {HTMLElement} group
 * @param {{ name: string, options: [string, string][], checked: string, onPick: (value: string) => void }} spec
 *   `options` are `[value, label]` pairs; `onPick` runs when the user picks another option
 */
export function fillRadioGroup(group, { name, options, checked, onPick }) {
  group.replaceChildren(...options.map(([value, text]) => {
    const label = document.createElement("label");
    label.className = "seg";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = name;
    input.value = value;
    input.checked = value === checked;
    input.addEventListener("change", () => {
      if (input.checked) onPick(value);
    });
    const span = document.createElement("span");
    span.textContent = text;
    label.append(input, span);
    return label;
  }));
}

/**
 * A duration for people: milliseconds below 10 s, else seconds with one decimal.
 *
 * @param {number | undefined | null} ms
 * @returns {string}
 */
export function formatMs(ms) {
  if (ms === undefined || ms === null) return "";
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Resolves after the browser has painted what was drawn so far (or after 100 ms in a hidden tab, where
 * animation frames stop).
 *
 * @returns {Promise<void>}
 */
export function nextPaint() {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      setTimeout(resolve, 0);
    });
  });
}

/**
 * Reads a blob as a `data:` URL.
 *
 * @param {Blob} blob
 * @returns {Promise<string>}
 */
export function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(/** @type {string} */ (reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/**
 * Copies text to the clipboard, also outside secure contexts.
 *
 * @param {string} text
 * @returns {Promise<void>}
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No clipboard API outside secure contexts (a phone on the LAN): fall back to a selection.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("Cannot copy as the browser refused clipboard access");
}
