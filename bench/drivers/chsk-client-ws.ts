export { wsDriver as driver } from "./chsk-client.js";
