// Copy buttons: a `<button data-copy-target="id" data-copy-status="id" data-copied="…" data-copy-failed="…" hidden>`
// copies the text of the element named by data-copy-target and says so in the status element. The button stays
// hidden where the browser cannot copy (no Clipboard API outside https), leaving the text to select by hand.
"use strict";

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

function say(status, message) {
  // Emptied first, so the same message is announced again on a second click.
  status.textContent = "";
  window.setTimeout(() => {
    status.textContent = message;
  }, 100);
}

for (const button of document.querySelectorAll("button[data-copy-target]")) {
  const source = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById(button.dataset.copyStatus);
  if (source && status && navigator.clipboard) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        say(status, button.dataset.copied);
      } catch {
        selectText(source);
        say(status, button.dataset.copyFailed);
      }
    });
  }
}
