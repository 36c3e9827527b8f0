// The pebble harness lives with the controller's tests (its ACME client tests start pebble too);
// end-to-end tests import it from here.
export * from '@berth/controller/test-support/pebble';
