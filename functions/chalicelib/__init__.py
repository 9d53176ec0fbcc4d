"""The API's areas, one module each; `http` holds what every route shares."""
