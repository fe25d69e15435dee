// <chat-composer>: the message box. Enter sends, Shift+Enter adds a line, Escape or the Stop
// button stops the running turn. It sends `compose-send` and `compose-stop` events up.
import { html, render } from "../../lib/html.js";

export class ChatComposer extends HTMLElement {
  #busy = false;
  #canSend = true;

  connectedCallback() {
    if (this.querySelector("form")) return;
    render(this, html`<form class="composer" aria-label="Send a message">
  <label for="composer-input">Message</label>
  <textarea id="composer-input" rows="2" autocomplete="off" aria-describedby="composer-help"></textarea>
  <p id="composer-help" class="help">Enter sends, Shift+Enter adds a line, Escape stops the answer.</p>
  <div class="actions">
    <button type="submit" class="send">Send</button>
    <button type="button" class="stop" disabled>Stop</button>
  </div>
</form>`);
    const form = this.querySelector("form");
    const input = this.querySelector("textarea");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#send();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#send();
      } else if (event.key === "Escape" && (this.#busy || !this.#canSend)) {
        event.preventDefault();
        this.#stop();
      }
    });
    this.querySelector(".stop").addEventListener("click", () => this.#stop());
    this.#apply();
  }

  /** busy: a turn is running or waiting for a slot; canSend: no message is waiting for its acknowledgement. */
  set state({ busy, canSend }) {
    this.#busy = busy;
    this.#canSend = canSend;
    this.#apply();
  }

  /**
   * Puts the text of a message the server refused (busy, too many turns, sent too fast) back,
   * before anything typed since, so that nothing the user wrote is lost.
   */
  restore(text) {
    const input = this.querySelector("textarea");
    if (!input || !text) return;
    if (!input.value) input.value = text;
    else if (!input.value.includes(text)) input.value = `${text}\n\n${input.value}`;
  }

  /** Empties the box if it still holds exactly `text` (a restored message that was taken after all). */
  clearIfUnchanged(text) {
    const input = this.querySelector("textarea");
    if (input && text && input.value === text) input.value = "";
  }

  focus() {
    this.querySelector("textarea")?.focus();
  }

  #apply() {
    const stop = this.querySelector(".stop");
    if (!stop) return;
    // A message on its way can be stopped too: the server reads the cancel after it.
    stop.disabled = !this.#busy && this.#canSend;
    this.querySelector(".send").setAttribute("aria-disabled", String(this.#busy || !this.#canSend));
    this.querySelector("form").setAttribute("aria-busy", String(this.#busy));
  }

  #send() {
    const input = this.querySelector("textarea");
    const content = input.value.trim();
    if (!content || this.#busy || !this.#canSend) return;
    input.value = "";
    this.#canSend = false; // until the app says otherwise; Stop is usable at once
    this.#apply();
    this.dispatchEvent(new CustomEvent("compose-send", { bubbles: true, detail: { content } }));
  }

  #stop() {
    this.dispatchEvent(new CustomEvent("compose-stop", { bubbles: true }));
  }
}

export function registerChatComposer() {
  if (!customElements.get("chat-composer")) customElements.define("chat-composer", ChatComposer);
}
