// A desktop notification service (org.freedesktop.Notifications) on the test's private session
// bus: it records what the app shows, and can click one ("default" action), as a desktop would.
import dbus from 'dbus-next';

const { Interface } = dbus.interface;

class Notifications extends Interface {
  constructor() {
    super('org.freedesktop.Notifications');
    this.shown = [];
    this.next = 1;
  }
  GetCapabilities() {
    // No body-markup: the body is shown as sent.
    return ['actions', 'body'];
  }
  Notify(appName, replacesId, icon, summary, body, actions, hints, timeout) {
    const id = this.next++;
    this.shown.push({ id, appName, summary, body, actions });
    return id;
  }
  CloseNotification(id) {
    this.NotificationClosed(id, 3);
  }
  GetServerInformation() {
    return ['incident-desk-tests', 'incident-desk', '1', '1.2'];
  }
  ActionInvoked(id, key) {
    return [id, key];
  }
  NotificationClosed(id, reason) {
    return [id, reason];
  }
}

Notifications.configureMembers({
  methods: {
    GetCapabilities: { inSignature: '', outSignature: 'as' },
    Notify: { inSignature: 'susssasa{sv}i', outSignature: 'u' },
    CloseNotification: { inSignature: 'u', outSignature: '' },
    GetServerInformation: { inSignature: '', outSignature: 'ssss' },
  },
  signals: {
    ActionInvoked: { signature: 'us' },
    NotificationClosed: { signature: 'uu' },
  },
});

/** Starts the service on the session bus; `stop()` releases the name and disconnects. */
export async function startNotifications() {
  const bus = dbus.sessionBus();
  const service = new Notifications();
  bus.export('/org/freedesktop/Notifications', service);
  const reply = await bus.requestName('org.freedesktop.Notifications', dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error('another notification service owns the name on this bus');
  return {
    /** What the app showed, in order. */
    shown: () => service.shown,
    /** Clicks a notification, as a desktop does: the "default" action. */
    click: (id) => service.ActionInvoked(id, 'default'),
    stop: () => bus.disconnect(),
  };
}
