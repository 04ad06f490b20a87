// Stripe.js on the portal's own pages (templates/stripe/): the form `#stripe-card` says which flow it runs.
// - data-flow="setup": Stripe's card Element; submitting confirms the SetupIntent (3-D Secure included), then the
//   page's own address is loaded again and sends the customer back with the saved card.
// - data-flow="authenticate": submitting lets the customer's bank check the PaymentIntent in Stripe's frame, then
//   the portal's page that records the outcome is loaded, whatever the bank answered.
// A refusal is shown in #card-error (Stripe's own message, in the page's language where Stripe has it).
"use strict";

const form = document.getElementById("stripe-card");
const problem = document.getElementById("card-error");
const button = form.querySelector("button[type=submit]");
const stripe = Stripe(form.dataset.publishableKey, { locale: form.dataset.locale });
const card = form.dataset.flow === "setup" ? stripe.elements().create("card") : null;
if (card) {
  card.mount("#card-element");
}

async function confirm() {
  if (card) {
    return stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card } });
  }
  return stripe.confirmCardPayment(form.dataset.clientSecret);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  button.disabled = true;
  problem.textContent = "";
  const result = await confirm();
  if (result.error && card) {
    problem.textContent = result.error.message || form.dataset.failed;
    button.disabled = false;
    return;
  }
  window.location.assign(form.dataset.nextUrl);
});
