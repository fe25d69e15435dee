// Entry point: registers Bedside's custom elements. Each lives in components/<name>/.
import { registerBedsideApp } from "./components/bedside-app/bedside-app.js";
import { registerChatComposer } from "./components/chat-composer/chat-composer.js";
import { registerChatView } from "./components/chat-view/chat-view.js";
import { registerConnectionStatus } from "./components/connection-status/connection-status.js";
import { registerSessionSidebar } from "./components/session-sidebar/session-sidebar.js";
import { registerSessionTools } from "./components/session-tools/session-tools.js";
import { registerTelemetryPanel } from "./components/telemetry-panel/telemetry-panel.js";

registerConnectionStatus();
registerChatView();
registerChatComposer();
registerTelemetryPanel();
registerSessionSidebar();
registerSessionTools();
registerBedsideApp();
