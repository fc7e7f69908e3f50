export { ajaxDriver as driver } from "./chsk-client.js";
