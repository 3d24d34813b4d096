// Pages: the sign-in, the shell with the eight pages of issue #24 (those not ready yet say
// "coming"). A page is reachable only by the roles that use it.
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { session } from "./auth/session";
import { INTAKE, PAGES, hasAny, pagesFor, type Role } from "./roles";

const coming = () => import("./pages/ComingPage.vue");

const routes: RouteRecordRaw[] = [
  { path: "/sign-in", name: "sign-in", component: () => import("./pages/SignInPage.vue"), meta: { public: true } },
  // The redirect back from the group's OpenID Connect provider (auth/oidc.ts).
  {
    path: "/sign-in/callback",
    name: "sign-in-callback",
    component: () => import("./pages/SignInCallbackPage.vue"),
    meta: { public: true },
  },
  {
    path: "/",
    component: () => import("./layout/AppShell.vue"),
    children: [
      { path: "", name: "home", redirect: () => pagesFor(session.state.current?.roles ?? [])[0]?.path ?? "/sign-in" },
      { path: "desk", name: "desk", component: () => import("./pages/DeskPage.vue"), meta: { page: "desk" } },
      {
        path: "desk/new",
        name: "desk-new",
        component: () => import("./pages/NewRequestPage.vue"),
        meta: { page: "desk", roles: INTAKE.create },
      },
      { path: "desk/tickets/:id", name: "ticket", component: () => import("./pages/TicketPage.vue"), props: true, meta: { page: "desk" } },
      { path: "dispatch", name: "dispatch", component: () => import("./pages/DispatchPage.vue"), meta: { page: "dispatch" } },
      {
        path: "dispatch/orders/:id",
        name: "work-order",
        component: () => import("./pages/WorkOrderPage.vue"),
        props: true,
        meta: { page: "dispatch" },
      },
      { path: "performance", name: "performance", component: () => import("./pages/PerformancePage.vue"), meta: { page: "performance" } },
      { path: "eldercare", name: "eldercare", component: () => import("./pages/EldercarePage.vue"), meta: { page: "eldercare" } },
      { path: "duty", name: "duty", component: () => import("./pages/DutyPage.vue"), meta: { page: "duty" } },
      // 经理看板: its five services' clients and its charts load with this page only.
      { path: "manager", name: "manager", component: () => import("./pages/ManagerPage.vue"), meta: { page: "manager" } },
      { path: "callbacks", name: "callbacks", component: () => import("./pages/CallbacksPage.vue"), meta: { page: "callbacks" } },
      { path: "billing", name: "billing", component: () => import("./pages/BillingPage.vue"), meta: { page: "billing" } },
      ...PAGES.filter((p) => !p.ready).map((p) => ({ path: p.path.slice(1), name: p.name, component: coming, meta: { page: p.name } })),
    ],
  },
  { path: "/:rest(.*)*", redirect: "/" },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach((to) => {
  const s = session.state.current ?? session.restore();
  if (to.meta.public) return true;
  if (!s) return { name: "sign-in" };
  const page = to.meta.page as string | undefined;
  if (page && !pagesFor(s.roles).some((p) => p.name === page)) return { name: "home" };
  const roles = to.meta.roles as Role[] | undefined;
  if (roles && !hasAny(s.roles, roles)) return { name: "home" };
  return true;
});
