// Search suggestions as an ARIA 1.2 combobox: the input owns a listbox of options.
// Keyboard: ↓/↑ move, Enter picks (or searches what was typed), Esc closes.
// Pointer and touch: tapping an option picks it.

import { api } from "./api.js";
import { clear, h } from "./dom.js";

const DEBOUNCE_MS = 150;

export function setupSuggest(input, listbox, { onPick }) {
  let items = [];
  let active = -1;
  let controller = null;
  let debounce = null;
  let lastQuery = null;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
  listbox.setAttribute("role", "listbox");

  function close() {
    items = [];
    active = -1;
    clear(listbox);
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function render() {
    clear(listbox);
    if (!items.length) return close();
    items.forEach((text, i) => {
      listbox.append(
        h(
          "li",
          {
            id: `${listbox.id}-${i}`,
            role: "option",
            class: "suggestion",
            "aria-selected": i === active ? "true" : "false",
            // Keep focus in the input when the option is pressed with a mouse or finger.
            onpointerdown: (e) => e.preventDefault(),
            onclick: () => pick(i),
          },
          text,
        ),
      );
    });
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (active >= 0) input.setAttribute("aria-activedescendant", `${listbox.id}-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }

  function move(delta) {
    if (!items.length) return;
    active = active + delta;
    if (active >= items.length) active = 0;
    if (active < -1) active = items.length - 1;
    render();
    document.getElementById(`${listbox.id}-${active}`)?.scrollIntoView({ block: "nearest" });
  }

  function pick(i) {
    const text = items[i];
    close();
    input.value = text;
    onPick(text);
  }

  async function fetchSuggestions() {
    const q = input.value.trim();
    if (q === lastQuery) return;
    lastQuery = q;
    controller?.abort();
    if (!q) return close();
    controller = new AbortController();
    try {
      const data = await api.suggest(q, { signal: controller.signal });
      if (input.value.trim() !== q || document.activeElement !== input) return;
      items = (data.suggestions || []).filter((s) => typeof s === "string").slice(0, 8);
      active = -1;
      render();
    } catch (err) {
      if (err.name !== "AbortError") close(); // suggestions are a help, never an error
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(fetchSuggestions, DEBOUNCE_MS);
  });

  input.addEventListener("keydown", (event) => {
    if (event.isComposing) return; // an IME is choosing characters: its keys are not ours
    switch (event.key) {
      case "ArrowDown":
        if (listbox.hidden) {
          lastQuery = null;
          fetchSuggestions();
        } else move(1);
        event.preventDefault();
        break;
      case "ArrowUp":
        if (!listbox.hidden) {
          move(-1);
          event.preventDefault();
        }
        break;
      case "Enter":
        if (!listbox.hidden && active >= 0) {
          event.preventDefault();
          pick(active);
        } else close(); // the form submits what was typed
        break;
      case "Escape":
        if (!listbox.hidden) {
          event.preventDefault();
          close();
        }
        break;
      default:
        break;
    }
  });

  input.addEventListener("blur", () => setTimeout(close, 100));

  return {
    close,
    reset() {
      clearTimeout(debounce);
      controller?.abort();
      lastQuery = null;
      close();
    },
  };
}
