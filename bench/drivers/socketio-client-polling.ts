export { pollingDriver as driver } from "./socketio-client.js";
