mod manage;

pub use manage::ManageGroupsPage;
