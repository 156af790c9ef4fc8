// A "Copy" button for a text (the clipboard API where the page may use it, else the text is selected
// for Ctrl+C).

import { h } from "../ui/dom.js";

export function copyButton(getText, { testid, label = "Copy" } = {}) {
  const button = h("button", { type: "button", testid, text: label });
  button.addEventListener("click", async () => {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
      const target = button.closest(".snippet, .copyable")?.querySelector("pre, code");
      if (target) getSelection().selectAllChildren(target);
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
  return button;
}
