export { wsDriver as driver } from "./socketio-client.js";
