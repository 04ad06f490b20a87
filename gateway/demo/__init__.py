"""The demo: three branded businesses and a customer of all three with a realistic history (`portal demo`)."""
